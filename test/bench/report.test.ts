/** The report: the goal table (every row, ratios side by side, no verdict on a disputed figure) and the run verdict. */
import { describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { updateReadmes } from '../../bench/report/write.ts';
import { evaluateGoals } from '../../bench/report/goals.ts';
import { emptyResult, type CaseResult, type RunResults, type TargetResult } from '../../bench/report/results.ts';
import { runVerdict } from '../../bench/report/verdict.ts';
import { renderMarkdown, resultTables } from '../../bench/report/markdown.ts';
import type { MirrorReport, MirrorRow } from '../../bench/mirror/report.ts';

const ok = (median: number, cross?: number): TargetResult => ({
  ...emptyResult('ok', ''),
  status: 'ok',
  median,
  ...(cross === undefined ? {} : { cross: { generator: 'bun', median: cross, min: cross, max: cross, disagreement: Math.max(median, cross) / Math.min(median, cross) - 1, errors: 0 } }),
});
const disputed = (median: number, cross: number): TargetResult => ({ ...ok(median, cross), status: 'failed', reason: 'generators disagree' });

function run(cases: CaseResult[], mode: 'quick' | 'full' = 'full'): RunResults {
  return { schema: 1, mode, command: '', startedAt: '', durationSec: 0, machine: {} as RunResults['machine'], pinning: '', generators: {}, targets: [], limits: {} as RunResults['limits'], seedingSec: {}, scenarios: [], cases, warnings: [] };
}
const manifestCase = (id: string, marina: TargetResult, limit: TargetResult, placement: 'pinned' | 'unpinned' = 'pinned'): CaseResult => ({
  id,
  scenario: 'manifest',
  title: id,
  unit: 'req/s',
  higherIsBetter: true,
  placement,
  targets: { marina, limit },
});

describe('the goal table', () => {
  test('reports every goal of the issue, in its order, measured or not', () => {
    const goals = evaluateGoals(run([]));
    expect(goals.map((g) => g.goal)).toEqual([
      'Manifest GET/HEAD by tag and digest vs the in-memory Bun.serve limit',
      '1 KiB blob GET vs the raw Bun.file limit',
      'Image push (config + 5 layers + manifest) vs the limit',
      'Peak RSS, pushing + pulling big blobs at once',
      'Cold start to the first 200',
      'Referrers of a subject, filtered',
      'Tags list walks',
      'Every case vs Distribution v3, pinned',
      'Every case vs Distribution v3, unpinned',
      'Mirror: time to first byte for a joining client after the upstream first byte, 32 clients',
    ]);
    expect(goals.every((g) => g.verdict === 'not measured')).toBe(true);
  });

  test('the cold-start goal is judged on the bytecode bundle when the run measured it, on the sources otherwise', () => {
    const cold = (id: string, ms: number): CaseResult => ({ id, scenario: 'cold-start', title: id, unit: 'ms', higherIsBetter: false, placement: 'pinned', targets: { marina: ok(ms) } });
    const goal = (cases: CaseResult[]) => evaluateGoals(run(cases)).find((g) => g.goal === 'Cold start to the first 200')!;
    expect(goal([cold('cold-start', 109)])).toMatchObject({ measured: '109 ms', verdict: 'not met' });
    expect(goal([cold('cold-start', 109), cold('cold-start/bundle', 54)])).toMatchObject({ measured: '54.0 ms', verdict: 'met', detail: 'cold-start/bundle' });
  });

  test('a ratio goal is met only when every case was measured, cross-checked and met; unpinned figures show beside', () => {
    const met = evaluateGoals(run([manifestCase('a', ok(95, 96), ok(100, 101)), manifestCase('b', ok(92), ok(100)), manifestCase('a@unpinned', ok(50), ok(100), 'unpinned')]))[0]!;
    expect(met.verdict).toBe('met');
    expect(met.measured).toBe('0.92×–0.95×');
    expect(met.detail).toContain('unpinned 0.50×');
    const missed = evaluateGoals(run([manifestCase('a', ok(95), ok(100)), manifestCase('b', ok(80), ok(100))]))[0]!;
    expect(missed.verdict).toBe('partly met');
    expect(missed.detail).toContain('missed: b 0.80×');
  });

  test('a case whose figure failed its cross-check does not count, and the goal is not called met', () => {
    const g = evaluateGoals(run([manifestCase('a', ok(95), ok(100)), manifestCase('b', disputed(99, 60), ok(100))]))[0]!;
    expect(g.verdict).toBe('incomplete');
    expect(g.measured).toBe('0.95×');
    expect(g.detail).toContain('1 more case not counted (a figure failed its cross-check');
  });

  test('absolute figures of a quick run are shown but give no verdict', () => {
    const tags: CaseResult = { id: 'tags', scenario: 'tags', title: 'Tags list walk: 500 tags', unit: 'walks/s', higherIsBetter: true, targets: { marina: ok(5000) } };
    const full = evaluateGoals(run([tags])).find((g) => g.goal === 'Tags list walks')!;
    expect(full.verdict).toBe('met');
    const quick = evaluateGoals(run([tags], 'quick')).find((g) => g.goal === 'Tags list walks')!;
    expect(quick.verdict).toBe('not measured');
    expect(quick.measured).toBe('5,000 walks/s');
  });
});

describe('the run verdict', () => {
  const c = (id: string, marina: TargetResult): CaseResult => ({ id, scenario: 'manifest', title: id, unit: 'req/s', higherIsBetter: true, targets: { marina, limit: ok(100) } });

  test('a full run fails when any figure failed its cross-check; a quick run reports it and passes', () => {
    const cases = [c('a', ok(95, 96)), c('b', disputed(99, 60))];
    const full = runVerdict(cases, 'full', 'marina');
    expect(full.exitCode).toBe(1);
    expect(full.disputed).toEqual(['b@marina: generators disagree']);
    expect(full.broken).toEqual([]);
    const quick = runVerdict(cases, 'quick', 'marina');
    expect(quick.exitCode).toBe(0);
    expect(quick.disputed).toHaveLength(1);
  });

  test('any run fails when the subject failed a case or saw errors', () => {
    expect(runVerdict([c('a', { ...ok(10), errors: 3 })], 'quick', 'marina')).toEqual({ exitCode: 1, disputed: [], broken: ['a: 3 errors'] });
    expect(runVerdict([c('a', emptyResult('failed', 'probe failed: 404'))], 'quick', 'marina').broken).toEqual(['a: probe failed: 404']);
    expect(runVerdict([c('a', ok(10, 11))], 'full', 'marina').exitCode).toBe(0);
  });
});

describe('the result tables', () => {
  test('a scenario table has columns only for the targets its cases ran on (the scale-out targets stay out of the matrix)', () => {
    const r = run([
      manifestCase('manifest/get-tag', ok(100), ok(120)),
      { id: 'scale-out/manifest/get-tag@unpinned', scenario: 'scale-out/manifest', title: 'Scale-out GET', unit: 'req/s', higherIsBetter: true, placement: 'unpinned', targets: { marina: ok(100), 'marina-w2': ok(150) } },
    ]);
    r.targets = [
      { id: 'marina', label: 'Marina', role: 'subject', version: '', notes: [] },
      { id: 'limit', label: 'Bun limit', role: 'limit', version: '', notes: [] },
      { id: 'marina-w2', label: 'Marina --workers 2', role: 'subject', version: '', notes: [] },
    ];
    r.scenarios = [
      { id: 'manifest', title: 'Manifest GET/HEAD', description: '' },
      { id: 'scale-out/manifest', title: 'Scale-out: Manifest GET/HEAD (unpinned)', description: '' },
    ];
    const [matrix, scaleOut] = resultTables(r).split('### ').slice(1);
    expect(matrix).toContain('| Case | Unit | Marina | Bun limit | Marina vs Bun limit |');
    expect(matrix).not.toContain('--workers 2');
    expect(scaleOut).toContain('| Case | Unit | Marina | Marina --workers 2 | Marina --workers 2 ÷ Marina |');
    expect(scaleOut).toContain('| Scale-out GET | req/s | 100 | 150 | 1.50× |');
  });
});

describe('the mirror goal', () => {
  const row = (clients: number, max: number, failures = 0): MirrorRow => ({ target: 'marina', clients, coldMs: 1, warmMs: 1, upstreamBlobGets: 1, upstreamBlobBytes: 1, warmUpstreamBlobBytes: 0, failures, joinerFirstByteMs: { p50: max / 2, max } });
  const withMirror = (rows: MirrorRow[], skipped: MirrorReport['skipped'] = []): RunResults => ({ ...run([]), mirror: { command: 'bun bench/run.ts (mirror phase)', machine: '', layerBytes: 64 * 2 ** 20, seconds: 60, rows, skipped } });
  const mirrorGoal = (r: RunResults) => evaluateGoals(r).at(-1)!;

  test('reads Marina at 32 clients from the mirror phase of the same run: the max over the clients against 50 ms', () => {
    const met = mirrorGoal(withMirror([row(8, 400), row(32, 31.5)]));
    expect(met).toMatchObject({ measured: '31.5 ms (max)', verdict: 'met' });
    expect(met.detail).toContain('mirror phase of this run (64 MiB layer, cold round)');
    expect(mirrorGoal(withMirror([row(32, 50)])).verdict).toBe('not met');
  });

  test('is not met when some pulls failed, and not measured without the phase or without 32 clients', () => {
    const failed = mirrorGoal(withMirror([{ ...row(32, 10, 3), firstError: 'blob: HTTP 502' }]));
    expect(failed.verdict).toBe('not met');
    expect(failed.detail).toContain('3 of 32 pulls failed (blob: HTTP 502)');
    expect(mirrorGoal(run([]))).toMatchObject({ verdict: 'not measured', detail: 'the mirror phase did not run or did not finish' });
    const quick = mirrorGoal(withMirror([row(1, 5), row(4, 9)]));
    expect(quick.verdict).toBe('not measured');
    expect(quick.detail).toContain('no Marina row at 32 clients (measured: 1, 4)');
    expect(mirrorGoal(withMirror([], [{ target: 'marina N=32', reason: 'round timed out' }])).detail).toContain('round timed out');
  });

  test('the report has the mirror table of the same run', () => {
    const md = renderMarkdown({ ...withMirror([row(32, 31.5)]), machine: { cpu: 'cpu', cores: 2, memoryGiB: 1, os: 'os', kernel: 'k', filesystem: 'fs', loadAverage: 0 } as RunResults['machine'], limits: { sha256MiBps: 1, diskWriteFsyncMiBps: 1, hashBytes: 1, diskBytes: 1 } });
    expect(md).toContain('## Pull-through mirror');
    expect(md).toContain('| marina | 32 |');
    expect(md).not.toContain('# Pull-through mirror benchmark');
  });
});

describe('the READMEs', () => {
  test('a full run rewrites both results sections: goals, chart and tables in bench/, goals and chart in the project README', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-readmes-'));
    try {
      const bench = path.join(root, 'bench');
      fs.mkdirSync(bench);
      const section = '<!-- results:begin (written by bench/run.ts; do not edit by hand) -->\nold\n<!-- results:end -->';
      fs.writeFileSync(path.join(bench, 'README.md'), `# bench\n${section}\nafter\n`);
      fs.writeFileSync(path.join(root, 'README.md'), `# project\n${section}\nafter\n`);
      const results = { ...run([]), machine: { cpu: 'cpu', cores: 2, loadAverage: 0.5 } as RunResults['machine'] };
      expect(updateReadmes(bench, results, 'latest')).toEqual(['bench/README.md', 'README.md']);
      const benchText = fs.readFileSync(path.join(bench, 'README.md'), 'utf8');
      const projectText = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
      for (const text of [benchText, projectText]) {
        expect(text).not.toContain('\nold\n');
        expect(text).toContain('| Metric | Measured | Goal | Verdict | Detail |');
        expect(text.endsWith('<!-- results:end -->\nafter\n')).toBe(true);
      }
      expect(benchText).toContain('![throughput per case](results/latest.svg)');
      expect(benchText).toContain('### Results');
      expect(projectText).toContain('![throughput per case](bench/results/latest.svg)');
      expect(projectText).toContain('[bench/results/latest.md](bench/results/latest.md)');
      expect(projectText).not.toContain('### Results');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
