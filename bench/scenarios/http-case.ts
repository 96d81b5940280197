/** Builds cases from request loops (GET/HEAD for a time window), shared by the pull-side scenarios. */
import { chooseGenerator, runLoad } from '../load/generators.ts';
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

/** A case that runs one request loop per measurement. */
export function httpCase(env: ScenarioEnv, options: HttpCaseOptions): Case {
  return {
    id: options.id,
    title: options.title,
    unit: options.unit,
    higherIsBetter: true,
    rounds: options.rounds,
    async measure(target) {
      const load = options.load(target);
      const result = await runLoad(load, chooseGenerator(load, options.bodySize, env.generators), env.generators);
      return sampleOf(result, options.unit);
    },
  };
}

/** The primary value of a load result in a unit. */
export function sampleOf(result: LoadResult, unit: RateUnit): Sample {
  const seconds = result.seconds > 0 ? result.seconds : Number.NaN;
  const value = unit === 'MiB/s' ? result.bytes / MiB / seconds : result.requests / seconds;
  return { value, load: result };
}

/** A short unmeasured load with the bundled client (warms JITs and caches). */
export async function warm(env: ScenarioEnv, load: HttpLoad): Promise<void> {
  await runLoad({ ...load, durationSec: env.profile.warmupSec, maxRequests: 100_000 }, 'bun', env.generators);
}
