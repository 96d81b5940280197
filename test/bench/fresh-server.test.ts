/**
 * The benchmark runner's `freshServer` cases (the push + pull memory case): each measurement runs on a server
 * process started right before it, so a peak-RSS figure does not carry what earlier scenarios left in the process.
 * Real `marina serve` processes through the harness's own Marina target.
 */
import { afterAll, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { planPinning } from '../../bench/lib/pinning.ts';
import { Progress } from '../../bench/lib/progress.ts';
import { runScenarios } from '../../bench/runner.ts';
import type { Case, Scenario } from '../../bench/scenarios/types.ts';
import { MarinaTarget } from '../../bench/targets/marina.ts';
import { tempDir } from '../helpers/registry.ts';

const dir = tempDir('marina-fresh-');
const target = new MarinaTarget({ workdir: dir, pinning: planPinning(false) });

afterAll(async () => {
  await target.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs one two-round case and returns, per round, the pid that served it and the status of GET /v2/. */
async function servedBy(fresh: boolean): Promise<{ pids: number[]; rss: number[]; statuses: number[] }> {
  const pids: number[] = [];
  const statuses: number[] = [];
  const c: Case = {
    id: 'probe/pid',
    title: 'which process serves',
    unit: 'MiB RSS',
    higherIsBetter: false,
    rounds: 2,
    ...(fresh ? { freshServer: true } : {}),
    async measure(t) {
      pids.push(t.pid);
      statuses.push((await fetch(`${t.baseUrl}/v2/`)).status);
      return { value: Number.NaN };
    },
    value: (sample) => (sample.server ? sample.server.peakRssBytes : Number.NaN),
  };
  const scenario: Scenario = { id: 'probe', title: 'probe', feature: 'push', description: 'probe', cases: [c] };
  const [result] = await runScenarios([scenario], [target], { deadline: performance.now() + 60_000, scenarioCapSec: 60 }, new Progress(0, false));
  const samples = result!.targets[target.id]!.samples;
  return { pids, rss: samples.map((s) => s.server?.startRssBytes ?? Number.NaN), statuses };
}

test('a freshServer case measures every round on a newly started server, and records the RSS it started from', async () => {
  await target.start();
  const first = target.pid;
  const { pids, rss, statuses } = await servedBy(true);
  expect(statuses).toEqual([200, 200]);
  expect(pids).toHaveLength(2);
  expect(pids).not.toContain(first);
  expect(pids[0]).not.toBe(pids[1]);
  // The process that served the last round is the one still running, and the old ones are gone.
  expect(target.pid).toBe(pids[1]!);
  expect(fs.existsSync(`/proc/${first}`)).toBe(false);
  for (const bytes of rss) expect(bytes).toBeGreaterThan(1024 * 1024);
}, 60_000);

test('other cases keep measuring the server that is already running', async () => {
  const running = target.pid;
  const { pids, statuses } = await servedBy(false);
  expect(statuses).toEqual([200, 200]);
  expect(pids).toEqual([running, running]);
}, 60_000);
