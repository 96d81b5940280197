/**
 * Runs scenarios against targets: probe, warm up, then rounds that alternate targets (A B C A B C …), each
 * measurement watched for server CPU and peak RSS, within a per-scenario cap and the run's overall budget.
 */
import type { Progress } from './lib/progress.ts';
import { ServerWatch } from './lib/proc-stats.ts';
import { num } from './lib/units.ts';
import { emptyResult, summarise, type CaseResult, type TargetResult } from './report/results.ts';
import type { Scenario } from './scenarios/types.ts';
import type { Target } from './targets/types.ts';

/** Limits the runner respects. */
export interface RunnerLimits {
  /** `performance.now()` after which nothing new starts. */
  deadline: number;
  /** Seconds one scenario may take. */
  scenarioCapSec: number;
  /** Called with each case as soon as it is measured, so a run interrupted later keeps it. */
  onCase?: (c: CaseResult) => void;
}

/** Planned measurements, for the progress counter. */
export function plannedMeasurements(scenarios: Scenario[], targets: Target[]): number {
  return scenarios.reduce((n, s) => n + s.cases.reduce((m, c) => m + c.rounds * targets.filter((t) => t.features.has(s.feature)).length, 0), 0);
}

/** Runs every scenario and returns one result per case. */
export async function runScenarios(scenarios: Scenario[], targets: Target[], limits: RunnerLimits, progress: Progress): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const scenario of scenarios) {
    const started = performance.now();
    const capEnd = Math.min(limits.deadline, started + limits.scenarioCapSec * 1000);
    progress.note(`scenario ${scenario.id}: ${scenario.description}`);
    const blocked = new Map<string, TargetResult>();
    const notes = new Map<string, string>();
    const ready: Target[] = [];
    for (const target of targets) {
      if (!target.features.has(scenario.feature)) {
        blocked.set(target.id, emptyResult('unsupported', `${target.label} has no ${scenario.feature} support`));
        continue;
      }
      const answer = await probe(scenario, target);
      if (typeof answer === 'object') notes.set(target.id, answer.note);
      const reason = typeof answer === 'string' ? answer : undefined;
      if (reason) {
        blocked.set(target.id, emptyResult(reason.startsWith('no ') ? 'unsupported' : 'failed', reason));
        progress.note(`  ${target.label}: ${reason}`);
        progress.skip(scenario.cases.reduce((n, c) => n + c.rounds, 0));
        continue;
      }
      ready.push(target);
      if (scenario.warmup && performance.now() < capEnd) await scenario.warmup(target).catch(() => {});
    }

    for (const c of scenario.cases) {
      const samples = new Map<string, TargetResult['samples']>(ready.map((t) => [t.id, []]));
      // An unmeasured warm-up of this very load on every target, so the first round is not a cold one.
      for (const target of ready) {
        if (!c.warmup || performance.now() > capEnd) continue;
        await target.refreshAuth?.().catch(() => {});
        await c.warmup(target).catch(() => {});
      }
      for (let round = 1; round <= c.rounds; round++) {
        for (const target of ready) {
          if (performance.now() > capEnd) {
            progress.skip(1);
            continue;
          }
          const sample = await measureOnce(c, target, round);
          samples.get(target.id)!.push(sample);
          const shown = sample.error ? `error: ${sample.error}` : `${num(sample.value)} ${c.unit}${sample.load?.errors ? ` (${sample.load.errors} errors)` : ''}`;
          const cross = sample.cross ? `; ${sample.cross.load.generator}: ${num(sample.cross.value)}` : '';
          const gen = sample.load ? ` [${sample.load.generator}${cross}]` : '';
          progress.step(`${c.title} · ${target.label} · round ${round}/${c.rounds}: ${shown}${gen}`);
        }
      }
      const byTarget: Record<string, TargetResult> = {};
      for (const target of targets) {
        const mine = samples.get(target.id);
        byTarget[target.id] = blocked.get(target.id) ?? (mine && mine.length ? summarise(mine, c.unit) : emptyResult('skipped', 'time cap reached before it ran'));
        const note = notes.get(target.id);
        if (note && byTarget[target.id]!.status === 'ok') byTarget[target.id]!.note = note;
      }
      const result: CaseResult = { id: c.id, scenario: scenario.id, title: c.title, unit: c.unit, higherIsBetter: c.higherIsBetter, targets: byTarget };
      results.push(result);
      limits.onCase?.(result);
    }
  }
  return results;
}

async function probe(scenario: Scenario, target: Target): Promise<string | undefined | { note: string }> {
  if (!scenario.probe) return undefined;
  try {
    await target.refreshAuth?.();
  } catch (e) {
    return `authentication failed: ${e instanceof Error ? e.message : String(e)}`;
  }
  try {
    return await scenario.probe(target);
  } catch (e) {
    return `probe failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

async function measureOnce(c: Scenario['cases'][number], target: Target, round: number): Promise<TargetResult['samples'][number]> {
  try {
    // A remote registry (pid 0) can neither be restarted nor watched.
    if (c.freshServer && target.pid) {
      await target.stop();
      await target.start();
    }
  } catch (e) {
    return { value: Number.NaN, round, error: `restarting the server: ${e instanceof Error ? e.message : String(e)}` };
  }
  const watch = c.selfWatched || !target.pid ? undefined : new ServerWatch(target.pid);
  try {
    await target.refreshAuth?.();
    const sample = await c.measure(target, round);
    if (watch) sample.server = watch.finish();
    if (c.value) sample.value = c.value(sample);
    return { ...sample, round };
  } catch (e) {
    watch?.finish();
    return { value: Number.NaN, round, error: e instanceof Error ? e.message : String(e) };
  } finally {
    try {
      await c.after?.(target);
    } catch {
      // Cleanup is best effort; a failure shows up in the next measurement.
    }
  }
}
