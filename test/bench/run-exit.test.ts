/**
 * `bun bench/run.ts` on a real quick run: a signal or a failing phase never throws the results away, and no server
 * the run started outlives it.
 */
import { afterAll, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/registry.ts';

const ROOT = path.resolve(import.meta.dir, '../..');
const dir = tempDir('marina-run-exit-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A quick run of `args`, its stderr collected as it comes. */
function startRun(args: string[]) {
  const proc = Bun.spawn([process.execPath, path.join(ROOT, 'bench/run.ts'), '--quick', '--generator', 'bun', '--no-cross-check', ...args], { cwd: ROOT, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
  const killer = setTimeout(() => proc.kill('SIGKILL'), 120_000);
  let stderr = '';
  const reading = (async () => {
    for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk);
  })();
  return {
    proc,
    stderr: () => stderr,
    /** Resolves once stderr matches `pattern` (at most `ms`). */
    async waitFor(pattern: RegExp, ms: number): Promise<void> {
      const deadline = performance.now() + ms;
      while (!pattern.test(stderr)) {
        if (performance.now() > deadline || proc.exitCode !== null) throw new Error(`never saw ${pattern}; stderr:\n${stderr}`);
        await Bun.sleep(50);
      }
    },
    async exit(): Promise<number> {
      const code = await proc.exited;
      clearTimeout(killer);
      await reading;
      return code;
    },
  };
}

const pids = (stderr: string) => [...stderr.matchAll(/up at \S+ \(pid (\d+)/g)].map((m) => Number(m[1]));
const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as { cases: { id: string }[]; interrupted?: { signal: string; phase?: string }; failures?: { phase: string; error: string }[] };

test('SIGTERM mid-run stops every server, writes the cases measured so far marked as interrupted, and exits 143', async () => {
  const out = path.join(dir, 'sigterm');
  const run = startRun(['--only', 'manifest', '--targets', 'marina,limit', '--out', out]);
  // Two targets, one round each: the third measurement line means the first case is complete.
  await run.waitFor(/\[bench [\d:]+ +3\/\d+\]/, 90_000);
  const servers = pids(run.stderr());
  expect(servers).toHaveLength(2);
  run.proc.kill('SIGTERM');
  expect(await run.exit()).toBe(143);

  const results = readJson(path.join(out, 'quick.json'));
  expect(results.interrupted).toMatchObject({ signal: 'SIGTERM', phase: 'matrix (pinned)' });
  expect(results.cases.length).toBeGreaterThanOrEqual(1);
  expect(results.cases.every((c) => c.id.startsWith('manifest/'))).toBe(true);
  const md = fs.readFileSync(path.join(out, 'quick.md'), 'utf8');
  expect(md).toContain('**Interrupted** by SIGTERM');
  expect(servers.filter(alive)).toEqual([]);
  expect(run.stderr()).toContain('INTERRUPTED by SIGTERM during matrix (pinned)');
}, 130_000);

test('a phase that throws is named in the report and the JSON, the servers already up are stopped, and the run exits 1', async () => {
  const out = path.join(dir, 'failed-phase');
  // A "Distribution v3" that exits at once: Marina is up by then, and the setup phase fails on the second server.
  const run = startRun(['--only', 'manifest', '--targets', 'marina,dist3', '--dist3', '/bin/false', '--out', out]);
  expect(await run.exit()).toBe(1);
  const servers = pids(run.stderr());
  expect(servers).toHaveLength(1);
  expect(servers.filter(alive)).toEqual([]);
  const results = readJson(path.join(out, 'quick.json'));
  expect(results.failures).toEqual([expect.objectContaining({ phase: 'setup', error: expect.stringContaining('/bin/false exited') })]);
  expect(fs.readFileSync(path.join(out, 'quick.md'), 'utf8')).toContain('**Phase `setup` failed**');
  expect(run.stderr()).toContain('PHASE FAILED: setup');
}, 130_000);
