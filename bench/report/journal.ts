/**
 * What a run has measured so far, phase by phase. Every phase runs through {@link RunJournal.phase}: a phase that
 * throws is recorded (which phase, the error) instead of ending the run, so the results written at the end —
 * or on a signal — always hold everything measured before and after it.
 */
import type { CaseResult, PhaseFailure, RunResults } from './results.ts';

/** The parts of the results known when the run starts. */
export type RunHead = Pick<RunResults, 'mode' | 'command' | 'startedAt' | 'machine' | 'generators'>;

/** A run's results, filled in as its phases finish. */
export class RunJournal {
  readonly cases: CaseResult[] = [];
  readonly scenarios: RunResults['scenarios'] = [];
  readonly warnings: string[] = [];
  /** One line per placement measured, e.g. `pinned: taskset …`. */
  readonly placements: string[] = [];
  readonly seedingSec: Record<string, number> = {};
  readonly failures: PhaseFailure[] = [];
  limits: RunResults['limits'] | undefined;
  mirror: RunResults['mirror'];
  interrupted: RunResults['interrupted'];
  /** The phase running now. */
  current: string | undefined;

  constructor(
    private readonly head: RunHead,
    /** Seconds since the run began. */
    private readonly elapsed: () => number,
  ) {}

  /**
   * Runs one phase; returns its value, or undefined when it threw (recorded in `failures`) or when the run was
   * interrupted (then nothing new starts, and the error a dying phase throws is not a failure of its own).
   */
  async phase<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
    if (this.interrupted) return undefined;
    this.current = name;
    try {
      return await run();
    } catch (e) {
      this.fail(name, e);
      return undefined;
    } finally {
      if (this.current === name) this.current = undefined;
    }
  }

  /** Records that `phase` failed with `e` (not after a signal: a phase dying of it is no failure of its own). */
  fail(phase: string, e: unknown): void {
    if (this.interrupted) return;
    const error = e instanceof Error ? e : new Error(String(e));
    this.failures.push({ phase, error: error.message.split('\n')[0] ?? '', ...(error.stack ? { stack: error.stack } : {}), atSec: this.elapsed() });
  }

  /** Records a signal; the phase running now is named as the one it stopped. */
  interrupt(signal: string): void {
    this.interrupted ??= { signal, ...(this.current ? { phase: this.current } : {}), atSec: this.elapsed() };
  }

  /** True when the results are not those of a whole run. */
  get incomplete(): boolean {
    return this.failures.length > 0 || this.interrupted !== undefined;
  }

  /** The exit code the run's outcome calls for, given the verdict on what was measured. */
  exitCode(verdictCode: number): number {
    if (this.interrupted) return this.interrupted.signal === 'SIGINT' ? 130 : 143;
    return this.failures.length ? 1 : verdictCode;
  }

  /** The results as they stand. */
  results(targets: RunResults['targets']): RunResults {
    const results: RunResults = {
      schema: 1,
      ...this.head,
      durationSec: this.elapsed(),
      pinning: this.placements.join('; '),
      targets,
      limits: this.limits ?? { sha256MiBps: Number.NaN, diskWriteFsyncMiBps: Number.NaN, hashBytes: 0, diskBytes: 0 },
      seedingSec: { ...this.seedingSec },
      scenarios: [...this.scenarios],
      cases: [...this.cases],
      warnings: [...this.warnings],
    };
    if (this.mirror) results.mirror = this.mirror;
    if (this.failures.length) results.failures = [...this.failures];
    if (this.interrupted) results.interrupted = this.interrupted;
    return results;
  }
}
