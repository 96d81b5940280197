/** Builds cases from request loops (GET/HEAD for a time window), shared by the pull-side scenarios. */
import { chooseGenerator, crossGenerator, runLoad } from '../load/generators.ts';
import type { HttpLoad, LoadResult } from '../load/types.ts';
import { MiB } from '../lib/units.ts';
import type { Target } from '../targets/types.ts';
import type { Case, Sample, ScenarioEnv } from './types.ts';

/** Units a request loop can report. */
export type RateUnit = 'req/s' | 'MiB/s' | 'walks/s';

/** Options of {@link httpCase}. */
export interface HttpCaseOptions {
  id: string;
  title: string;
  unit: RateUnit;
  rounds: number;
  /** Size of one response body, to pick the generator. */
  bodySize: number;
  load(target: Target): HttpLoad;
}

/**
 * A case that runs one request loop per measurement, then (when cross-checking) the same loop with a second,
 * independent generator; the runner compares the two medians.
 */
export function httpCase(env: ScenarioEnv, options: HttpCaseOptions): Case {
  const loadOf = (target: Target): HttpLoad => {
    const load = options.load(target);
    return { ...load, headers: { ...target.headers, ...load.headers }, bodySize: options.bodySize };
  };
  // Bytes/s each target reached in its warm-up: sizes whole-transfer runs (curl on bodies of 64 MiB and more).
  const warmRates = new Map<string, number>();
  return {
    id: options.id,
    title: options.title,
    unit: options.unit,
    higherIsBetter: true,
    rounds: options.rounds,
    async measure(target, round) {
      const load = { ...loadOf(target), expectedBytesPerSec: warmRates.get(target.baseUrl) };
      const primary = chooseGenerator(load, options.bodySize, env.generators);
      const sample = sampleOf(await runLoad(load, primary, env.generators), options.unit);
      const second = crossChecks(env, round) ? crossGenerator(load, primary, env.generators) : undefined;
      if (second) {
        const first = sample.load;
        const expectedBytesPerSec = first && first.seconds > 0 ? first.bytes / first.seconds : undefined;
        const cross = await runLoad({ ...load, expectedBytesPerSec }, second, env.generators);
        sample.cross = { load: cross, value: sampleOf(cross, options.unit).value };
      }
      return sample;
    },
    async warmup(target) {
      const r = await warm(env, loadOf(target));
      if (r && r.seconds > 0 && r.bytes > 0) warmRates.set(target.baseUrl, r.bytes / r.seconds);
    },
  };
}

/** Whether the second generator measures in this round (the first `crossCheckRounds` rounds of a cross-checked run). */
export function crossChecks(env: ScenarioEnv, round: number): boolean {
  return Boolean(env.generators.crossCheck) && round <= env.profile.crossCheckRounds;
}

/** The primary value of a load result in a unit. */
export function sampleOf(result: LoadResult, unit: RateUnit): Sample {
  const seconds = result.seconds > 0 ? result.seconds : Number.NaN;
  const value = unit === 'MiB/s' ? result.bytes / MiB / seconds : result.requests / seconds;
  return { value, load: result };
}

/** A short unmeasured load with the bundled client (warms JITs, caches and connection pools); what it measured. */
export async function warm(env: ScenarioEnv, load: HttpLoad): Promise<LoadResult | undefined> {
  if (env.profile.warmupSec <= 0) return undefined;
  return runLoad({ ...load, durationSec: env.profile.warmupSec, maxRequests: 1_000_000, drainSec: load.drainSec ? 5 : undefined }, 'bun', env.generators);
}
