/** `marina retention run` and the retention schedule of `marina serve`, as real processes on a prepared data dir. */
import { afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openRegistry, tempDir } from '../helpers/registry.ts';
import { runCli, startServer, type ServerProcess } from '../helpers/server.ts';
import { DAY, pushImage } from './support.ts';

const dirs: string[] = [];
let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A data dir with ci/app tags build-0..9 pushed a day apart long ago, plus `main`; and a config keeping 3. */
async function prepare(): Promise<{ data: string; config: string }> {
  const data = tempDir('marina-retention-cli-');
  dirs.push(data);
  const clock = { now: Date.UTC(2025, 0, 1) };
  const t = openRegistry({ clock: () => clock.now }, data);
  for (let i = 0; i < 10; i++) {
    clock.now += DAY;
    await pushImage(t.registry, 'ci/app', `build-${i}`, ['shared base', `layer ${i}`]);
  }
  await pushImage(t.registry, 'ci/app', 'main', ['shared base', 'main layer']);
  await t.close({ keepData: true });
  const config = path.join(data, 'marina.json');
  fs.writeFileSync(config, JSON.stringify({ retention: [{ repositories: 'ci/**', keepNewest: 3, keepTags: ['main'] }], retentionSchedule: '1s' }));
  return { data, config };
}

describe('marina retention run', () => {
  test('a dry run lists the tags and manifests that would go and the bytes freed, and changes nothing', async () => {
    const { data, config } = await prepare();
    const dry = await runCli(['retention', 'run', '--dry-run', '--data', data, '--config', config]);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    for (let i = 0; i < 7; i++) expect(dry.stdout).toContain(`would delete tag ci/app:build-${i} (not among the newest 3)`);
    expect(dry.stdout).not.toContain('build-7 ');
    // Seven configs and seven unique layers ("layer 0".."layer 6", 7 bytes each) go; the shared base stays.
    expect(dry.stdout).toMatch(/1 repositories with rules; 7 tags and 7 manifests would be deleted; 14 blobs \(.*\) would become unreferenced/);

    const real = await runCli(['retention', 'run', '--data', data, '--config', config]);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain('7 tags and 7 manifests deleted');
    const lines = (s: string) => s.split('\n').filter((l) => l.startsWith('  ') && l.includes('delete')).map((l) => l.replace('would delete', 'deleted'));
    expect(lines(real.stdout)).toEqual(lines(dry.stdout));

    const t = openRegistry({}, data);
    expect((await t.registry.listTags('ci/app')).items).toEqual(['build-7', 'build-8', 'build-9', 'main']);
    await t.close({ keepData: true });
  });

  test('without rules it says how to configure them and fails', async () => {
    const data = tempDir('marina-retention-cli-');
    dirs.push(data);
    const result = await runCli(['retention', 'run', '--data', data]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no retention rules configured');
  });

  test('marina serve applies the rules on its schedule and logs each deletion', async () => {
    const { data, config } = await prepare();
    server = await startServer(data, ['--config', config]);
    const deadline = Date.now() + 10_000;
    while (!server.stderr().includes('retention run finished') && Date.now() < deadline) await Bun.sleep(100);
    expect(server.stderr()).toContain('retention deleted tag ci/app:build-0');
    const tags = (await (await fetch(`${server.url}/v2/ci/app/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toEqual(['build-7', 'build-8', 'build-9', 'main']);
  });
});
