/** The contract between scenario files and the runner: cases to measure, and what one measurement returns. */
import type { Profile } from '../config.ts';
import type { DataSet } from '../data/dataset.ts';
import type { ServerCost } from '../lib/proc-stats.ts';
import type { GeneratorEnv } from '../load/generators.ts';
import type { LoadResult } from '../load/types.ts';
import type { Feature, Target } from '../targets/types.ts';

/** What scenario builders get. */
export interface ScenarioEnv {
  profile: Profile;
  data: DataSet;
  generators: GeneratorEnv;
  /** Scratch space for scenarios (e.g. the disk limit's test file). */
  workdir: string;
}

/** One measurement of one target. */
export interface Sample {
  /** The primary metric, in the case's unit. */
  value: number;
  /** Raw load result (generator, requests, bytes, latency). */
  load?: LoadResult;
  /** Server CPU and peak RSS during the measurement (filled in by the runner). */
  server?: ServerCost;
  /** The same measurement by a second generator, right after the first (cross-check). */
  cross?: { load: LoadResult; value: number };
  /** Other numbers worth keeping (e.g. pulled MiB/s next to a peak-RSS value). */
  extra?: Record<string, number | string>;
}

/** One row of results: a request shape at a size and concurrency, measured on every target that supports it. */
export interface Case {
  /** Stable id, e.g. `blob-get/1m/c16`. */
  id: string;
  title: string;
  /** Unit of `Sample.value`, e.g. `MiB/s`, `req/s`, `ms`. */
  unit: string;
  higherIsBetter: boolean;
  rounds: number;
  /** Measures one target once (one round). */
  measure(target: Target, round: number): Promise<Sample>;
  /** Derives the primary value once the runner has attached the server cost (e.g. peak RSS). */
  value?(sample: Sample): number;
  /** Unmeasured load on a target right before its first round of this case. */
  warmup?(target: Target): Promise<void>;
  /** Runs after every measurement (cleanup that must not be timed). */
  after?(target: Target): Promise<void> | void;
  /** The case manages server processes itself (cold start): the runner does not watch the server. */
  selfWatched?: boolean;
  /**
   * Restart every local target right before each measurement (outside the watched window). For a memory figure:
   * a long-lived server still holds garbage the previous scenario left (uncollected JS heap stays resident for
   * seconds), which would make the value depend on which scenario ran before instead of on this load.
   */
  freshServer?: boolean;
}

/** A group of cases sharing a feature, a probe and a time cap. */
export interface Scenario {
  id: string;
  title: string;
  /** What a target must support. */
  feature: Feature;
  /** One sentence on what is measured and how. */
  description: string;
  cases: Case[];
  /**
   * Checks the target answers correctly before measuring: a string says why it cannot be measured; `{ note }`
   * passes with a remark for the report (e.g. "answers in one page").
   */
  probe?(target: Target): Promise<string | undefined | { note: string }>;
  /** Unmeasured load to warm the target before its first case. */
  warmup?(target: Target): Promise<void>;
}
