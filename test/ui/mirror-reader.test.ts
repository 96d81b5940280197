/** The mirror page reads upstream settings; a URL's credentials (`https://user:token@host`) never reach the page. */
import { expect, test } from 'bun:test';
import { readMirror } from '../../src/ui/mirror-reader.ts';

test('upstream URLs are shown without the user name and password they may carry', async () => {
  const mirror = {
    stats: () => ({ upstreams: {} }),
    router: { upstreams: [{ name: 'corp', url: 'https://robot:s3cret-token@registry.corp.example/v2-root' }, { name: 'hub', url: 'https://registry-1.docker.io' }] },
  };
  const reading = await readMirror(mirror);
  expect(reading.upstreams.map((u) => u.url)).toEqual(['https://registry.corp.example/v2-root', 'https://registry-1.docker.io']);
  expect(JSON.stringify(reading)).not.toContain('s3cret');
});
