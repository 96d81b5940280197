/**
 * The web page's JSON API on an in-process registry: what each endpoint reads from the index. Under
 * MARINA_TEST_DEFERRED_STORES=1 (npm run test:deferred) every index answer comes later, so a read the UI forgets to
 * await shows up here as a wrong answer.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createWebUi, type WebUi } from '../../src/ui/routes.ts';
import { openRegistry, type TestRegistry } from '../helpers/registry.ts';

let t: TestRegistry;
let ui: WebUi;
let pushed: { digest: string; bytes: Uint8Array };

beforeAll(async () => {
  t = openRegistry();
  pushed = await t.client.pushImage('shop/api', { reference: 'v1' });
  ui = createWebUi({ registry: t.registry });
});

afterAll(async () => {
  await ui?.close();
  await t?.close();
});

const api = async (path: string) => {
  const res = await ui.fetch(new Request(`http://ui.local/ui/api/${path}`));
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

describe('the web JSON API in process', () => {
  test('a repository that holds nothing is NAME_UNKNOWN for its tags and its manifests', async () => {
    const tags = await api('tags?name=shop/none');
    expect(tags.status).toBe(404);
    expect(JSON.stringify(tags.body)).toContain('NAME_UNKNOWN');
    expect((await api('manifest?name=shop/none&ref=v1')).status).toBe(404);
  });

  test('tags list each tag with its digest and size; the repository list counts manifests and tags', async () => {
    const tags = await api('tags?name=shop/api');
    expect(tags.status).toBe(200);
    expect(tags.body.items).toHaveLength(1);
    expect(tags.body.items[0]).toMatchObject({ tag: 'v1', digest: pushed.digest });
    expect(tags.body.items[0].size).toBeGreaterThan(pushed.bytes.byteLength);
    const repositories = await api('repositories');
    expect(repositories.body.items).toEqual([expect.objectContaining({ name: 'shop/api', manifests: 1, tags: 1 })]);
  });

  test('a manifest is found by tag and by digest; an unknown tag is MANIFEST_UNKNOWN', async () => {
    for (const ref of ['v1', pushed.digest]) {
      const view = await api(`manifest?name=shop/api&ref=${ref}`);
      expect(view.status).toBe(200);
      expect(view.body).toMatchObject({ repository: 'shop/api', digest: pushed.digest, isIndex: false });
      expect(view.body.layers).toHaveLength(1);
    }
    const unknown = await api('manifest?name=shop/api&ref=v2');
    expect(unknown.status).toBe(404);
    expect(JSON.stringify(unknown.body)).toContain('MANIFEST_UNKNOWN');
  });
});
