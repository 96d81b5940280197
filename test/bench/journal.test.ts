/** A run's journal: a phase that throws or a signal keeps everything measured, names what failed, and fails the run. */
import { afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunJournal } from '../../bench/report/journal.ts';
import { emptyResult, type CaseResult } from '../../bench/report/results.ts';
import { writeResults } from '../../bench/report/write.ts';

const head = { mode: 'full' as const, command: 'bun bench/run.ts', startedAt: '2026-12-01T00:00:00Z', machine: { cpu: 'cpu', cores: 2, memoryGiB: 1, os: 'os', kernel: 'k', filesystem: 'fs', loadAverage: 0 } as never, generators: {} };
const measured = (id: string): CaseResult => ({
  id,
  scenario: 'manifest',
  title: id,
  unit: 'req/s',
  higherIsBetter: true,
  targets: { marina: { ...emptyResult('ok', ''), status: 'ok', median: 1000, min: 1000, max: 1000, samples: [{ value: 1000, round: 1 }] } },
});
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function written(journal: RunJournal): { json: Record<string, unknown>; md: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'journal-test-'));
  dirs.push(dir);
  writeResults(journal.results([{ id: 'marina', label: 'Marina', role: 'subject', version: '0', notes: [] }]), dir, 'latest');
  return { json: JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')), md: fs.readFileSync(path.join(dir, 'latest.md'), 'utf8') };
}

describe('a phase that throws', () => {
  test('is recorded with its name and error, and the cases measured before and after it are written', async () => {
    const journal = new RunJournal(head, () => 42);
    journal.scenarios.push({ id: 'manifest', title: 'Manifest GET', description: 'd' });
    expect(await journal.phase('matrix (pinned)', async () => void journal.cases.push(measured('before')))).toBeUndefined();
    const failed = await journal.phase('scale-out', async () => {
      throw new Error('SeaweedFS exited (1)\nits log: …');
    });
    expect(failed).toBeUndefined();
    expect(await journal.phase('mirror', async () => 'ran')).toBe('ran');
    journal.cases.push(measured('after'));

    expect(journal.incomplete).toBe(true);
    expect(journal.exitCode(0)).toBe(1);
    const { json, md } = written(journal);
    expect((json.cases as CaseResult[]).map((c) => c.id)).toEqual(['before', 'after']);
    expect(json.failures).toEqual([expect.objectContaining({ phase: 'scale-out', error: 'SeaweedFS exited (1)', atSec: 42 })]);
    expect((json.failures as { stack: string }[])[0]!.stack).toContain('its log');
    expect(md).toContain('## ⚠ Incomplete run');
    expect(md).toContain('**Phase `scale-out` failed** after');
    expect(md).toContain('SeaweedFS exited (1)');
    expect(md).toContain('| before |');
  });

  test('an error thrown outside the phase (a stream error, a timer) is recorded against the phase named', () => {
    const journal = new RunJournal(head, () => 3);
    journal.fail('mirror', new Error('socket hang up'));
    expect(journal.failures).toEqual([expect.objectContaining({ phase: 'mirror', error: 'socket hang up', atSec: 3 })]);
    expect(journal.exitCode(0)).toBe(1);
  });

  test('a whole run with no failure is complete and keeps the verdict of its figures', async () => {
    const journal = new RunJournal(head, () => 1);
    await journal.phase('matrix (pinned)', async () => void journal.cases.push(measured('a')));
    expect(journal.incomplete).toBe(false);
    expect(journal.exitCode(0)).toBe(0);
    expect(journal.exitCode(1)).toBe(1);
    const { json, md } = written(journal);
    expect(json.failures).toBeUndefined();
    expect(json.interrupted).toBeUndefined();
    expect(md).not.toContain('Incomplete run');
  });
});

describe('a signal', () => {
  test('names the phase it stopped, starts no further phase, does not count the dying phase as failed, and exits 130/143', async () => {
    const journal = new RunJournal(head, () => 7);
    let release!: () => void;
    const running = journal.phase('matrix (unpinned)', async () => {
      journal.cases.push(measured('done'));
      await new Promise<void>((r) => (release = r));
      throw new Error('fetch failed'); // what a load generator sees once its server is gone
    });
    journal.interrupt('SIGTERM');
    release();
    expect(await running).toBeUndefined();
    let started = false;
    await journal.phase('mirror', async () => {
      started = true;
    });
    expect(started).toBe(false);
    expect(journal.failures).toEqual([]);
    expect(journal.exitCode(0)).toBe(143);
    const { json, md } = written(journal);
    expect(json.interrupted).toEqual({ signal: 'SIGTERM', phase: 'matrix (unpinned)', atSec: 7 });
    expect((json.cases as CaseResult[]).map((c) => c.id)).toEqual(['done']);
    expect(md).toContain('**Interrupted** by SIGTERM');
    expect(md).toContain('during phase `matrix (unpinned)`');
    const sigint = new RunJournal(head, () => 0);
    sigint.interrupt('SIGINT');
    expect(sigint.exitCode(0)).toBe(130);
  });
});
