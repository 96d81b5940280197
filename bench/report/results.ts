/** The result model written to JSON and rendered to Markdown and SVG, and how rounds are summarised. */
import type { MachineInfo } from '../lib/machine.ts';
import { median, spread } from '../lib/stats.ts';
import { CROSS_CHECK_TOLERANCE, disagreement } from '../load/generators.ts';
import type { Sample } from '../scenarios/types.ts';
import type { Limits } from '../scenarios/limits.ts';
import type { Role } from '../targets/types.ts';
import type { MirrorReport } from '../mirror/report.ts';

/** One target's outcome on one case. */
export interface TargetResult {
  /** ok: measured; unsupported: the target lacks the feature; failed: probe or every round failed; skipped: time cap. */
  status: 'ok' | 'unsupported' | 'failed' | 'skipped';
  reason?: string;
  /** A remark from the probe on how this target answered (status ok). */
  note?: string;
  /** Every round, in order. */
  samples: (Sample & { round: number; error?: string })[];
  /** Summary over the successful rounds. */
  median: number;
  /** (max − min) / median. */
  spread: number;
  min: number;
  max: number;
  p50Ms?: number;
  p99Ms?: number;
  /** Server CPU seconds per wall second, median over rounds. */
  cpuShare?: number;
  /** Server CPU per unit of work, median over rounds: µs per request (rate cases) or ms per GiB (bandwidth cases). */
  cpuPerUnit?: number;
  /** Largest server peak RSS over the rounds, MiB. */
  peakRssMiB?: number;
  /** Failed requests over all rounds. */
  errors: number;
  /** Load generator(s) that produced the numbers. */
  generator: string;
  /**
   * The second generator's view of the same rounds: its median, and max/min − 1 between the two medians. Above
   * {@link CROSS_CHECK_TOLERANCE} the result is `failed` (the figure is not trusted), keeping the numbers here.
   */
  cross?: { generator: string; median: number; min: number; max: number; disagreement: number; errors: number };
}

/** One case across targets. */
export interface CaseResult {
  id: string;
  scenario: string;
  title: string;
  unit: string;
  higherIsBetter: boolean;
  /** Pinned (server and load on separate cores) or unpinned (both free, as users run them). */
  placement?: 'pinned' | 'unpinned';
  targets: Record<string, TargetResult>;
}

/** A target as described in the report. */
export interface TargetInfo {
  id: string;
  label: string;
  role: Role;
  version: string;
  notes: string[];
}

/** Everything a run produced. */
export interface RunResults {
  schema: 1;
  /** `matrix` (bench/run.ts: Marina, Distribution, limits) or `remote` (marina bench <url>: one registry). */
  kind?: 'matrix' | 'remote';
  mode: 'quick' | 'full';
  command: string;
  startedAt: string;
  durationSec: number;
  machine: MachineInfo;
  pinning: string;
  generators: Record<string, string>;
  targets: TargetInfo[];
  limits: Limits;
  seedingSec: Record<string, number>;
  scenarios: { id: string; title: string; description: string }[];
  cases: CaseResult[];
  warnings: string[];
  /** The mirror benchmark (bench/mirror/bench.ts) run as a phase of this run. */
  mirror?: MirrorReport;
  /** Phases that threw: the results above are what was measured before and after them. */
  failures?: PhaseFailure[];
  /** The run was stopped by a signal during `phase`; the results above are what was done by then. */
  interrupted?: { signal: string; phase?: string; atSec: number };
}

/** A phase of a run that threw. */
export interface PhaseFailure {
  /** E.g. `matrix (pinned)`, `mirror`, `scale-out`. */
  phase: string;
  /** The error's message. */
  error: string;
  stack?: string;
  /** Seconds into the run. */
  atSec: number;
}

/** A result with no measurement. */
export function emptyResult(status: TargetResult['status'], reason: string): TargetResult {
  return { status, reason, samples: [], median: Number.NaN, spread: 0, min: Number.NaN, max: Number.NaN, errors: 0, generator: '' };
}

/** Summarises the rounds of one target on one case. */
export function summarise(samples: TargetResult['samples'], unit: string): TargetResult {
  const good = samples.filter((s) => !s.error && Number.isFinite(s.value));
  if (good.length === 0) {
    return { ...emptyResult('failed', samples.find((s) => s.error)?.error ?? 'no successful round'), samples };
  }
  const values = good.map((s) => s.value);
  const pick = (f: (s: Sample) => number | undefined) => {
    const v = good.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return v.length ? v : undefined;
  };
  const p50 = pick((s) => s.load?.p50Ms);
  const p99 = pick((s) => s.load?.p99Ms);
  const cpu = pick((s) => s.server?.cpuShare);
  const rss = pick((s) => s.server?.peakRssBytes);
  const perUnit = pick((s) => cpuPerUnit(s, unit));
  const result: TargetResult = {
    status: 'ok',
    samples,
    median: median(values),
    spread: spread(values),
    min: Math.min(...values),
    max: Math.max(...values),
    errors: samples.reduce((n, s) => n + (s.load?.errors ?? 0) + (s.error ? 1 : 0), 0),
    generator: [...new Set(good.map((s) => s.load?.generator ?? 'harness'))].join('+'),
  };
  if (p50) result.p50Ms = median(p50);
  if (p99) result.p99Ms = median(p99);
  if (cpu) result.cpuShare = median(cpu);
  if (rss) result.peakRssMiB = Math.max(...rss) / 2 ** 20;
  if (perUnit) result.cpuPerUnit = median(perUnit);
  const crossed = good.filter((s) => s.cross);
  if (crossed.length) {
    const values2 = crossed.map((s) => s.cross!.value).filter(Number.isFinite);
    const m2 = values2.length ? median(values2) : Number.NaN;
    const gap = Number.isFinite(m2) ? disagreement(result.median, m2) : Number.POSITIVE_INFINITY;
    const errors2 = crossed.reduce((n, s) => n + s.cross!.load.errors, 0);
    result.cross = { generator: [...new Set(crossed.map((s) => s.cross!.load.generator))].join('+'), median: m2, min: Math.min(...values2), max: Math.max(...values2), disagreement: gap, errors: errors2 };
    if (!(gap <= CROSS_CHECK_TOLERANCE)) {
      result.status = 'failed';
      result.reason = `generators disagree: ${result.generator} ${fmt(result.median)} vs ${result.cross.generator} ${fmt(m2)} ${unit} (${Number.isFinite(gap) ? `${(gap * 100).toFixed(0)}%` : '∞'} apart, > ${CROSS_CHECK_TOLERANCE * 100}%)`;
    }
    result.errors += errors2;
  }
  return result;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2)) : 'NaN';
}

/**
 * Server CPU per unit of work of one sample: ms per GiB moved for bandwidth cases (MiB/s), else µs per operation
 * (request, walk, image). Where the load generator is the bottleneck, this still shows what each target spends.
 */
export function cpuPerUnit(s: Sample, unit: string): number | undefined {
  const cpu = s.server?.cpuSeconds;
  const load = s.load;
  if (cpu === undefined || !load || !Number.isFinite(cpu) || !unit.includes('/s')) return undefined;
  if (unit === 'MiB/s') return load.bytes > 0 ? (cpu * 1000) / (load.bytes / 2 ** 30) : undefined;
  return load.requests > 0 ? (cpu * 1e6) / load.requests : undefined;
}

/** The unit of {@link cpuPerUnit} for a case unit: `ms/GiB` or `µs/<operation>`. */
export function cpuUnit(unit: string): string {
  return unit === 'MiB/s' ? 'ms/GiB' : `µs/${unit.split('/')[0]!.replace(/s$/, '')}`;
}

/** True when a result failed because its two generators disagreed. */
export function crossCheckFailed(t: TargetResult | undefined): boolean {
  return Boolean(t?.cross && !(t.cross.disagreement <= CROSS_CHECK_TOLERANCE));
}

/** Marina's standing against another target on a case: > 1 means Marina is better (faster, or lighter). */
export function marinaRatio(c: CaseResult, otherId: string): number {
  const m = c.targets.marina;
  const o = c.targets[otherId];
  if (!m || !o || m.status !== 'ok' || o.status !== 'ok') return Number.NaN;
  return c.higherIsBetter ? m.median / o.median : o.median / m.median;
}
