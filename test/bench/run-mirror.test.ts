/** The mirror benchmark as a phase of `bun bench/run.ts`: its table and its goal figure come from the same run. */
import { afterAll, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunResults } from '../../bench/report/results.ts';
import { tempDir } from '../helpers/registry.ts';

const ROOT = path.resolve(import.meta.dir, '../..');
const dir = tempDir('marina-run-mirror-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a quick run with --only mirror measures Marina as a mirror (cold and warm, first byte after upstream) and reports it', async () => {
  const proc = Bun.spawn([process.execPath, path.join(ROOT, 'bench/run.ts'), '--quick', '--only', 'mirror', '--targets', 'marina', '--out', dir], { cwd: ROOT, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 120_000);
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  expect(code, stderr).toBe(0);
  const results = JSON.parse(fs.readFileSync(path.join(dir, 'quick.json'), 'utf8')) as RunResults & { goals: { goal: string; detail: string }[] };
  expect(results.failures).toBeUndefined();
  const marina = results.mirror!.rows.filter((r) => r.target === 'marina');
  expect(marina.map((r) => r.clients)).toEqual([1, 4]);
  for (const row of marina) {
    expect(row.failures).toBe(0);
    // One upstream fetch serves every client, cold; the warm round fetches nothing.
    expect(row.upstreamBlobGets).toBe(1);
    expect(row.warmUpstreamBlobBytes).toBe(0);
    expect(row.joinerFirstByteMs!.max).toBeGreaterThanOrEqual(row.joinerFirstByteMs!.p50);
    expect(row.joinerFirstByteMs!.p50).toBeGreaterThanOrEqual(0);
  }
  expect(results.goals.at(-1)!.detail).toContain('mirror phase of this run (8 MiB layer, cold round): no Marina row at 32 clients (measured: 1, 4)');
  expect(fs.readFileSync(path.join(dir, 'quick.md'), 'utf8')).toContain('## Pull-through mirror');
}, 130_000);
