/**
 * Progress lines on stderr: one line per step, prefixed with elapsed time, so a CI log shows where a run is.
 */

/** Writes progress lines; `step` also counts measurements done out of the planned total. */
export class Progress {
  private readonly t0 = performance.now();
  private done = 0;

  constructor(private total = 0) {}

  /** Seconds since the run began. */
  elapsed(): number {
    return (performance.now() - this.t0) / 1000;
  }

  /** Sets how many measurements are planned. */
  plan(total: number): void {
    this.total = total;
  }

  /** A free-form line (phases, warnings). */
  note(message: string): void {
    process.stderr.write(`[bench ${clock(this.elapsed())}] ${message}\n`);
  }

  /** Measurements that will not run (unsupported, failed probe, time cap): counted without a line. */
  skip(n: number): void {
    this.done += n;
  }

  /** One measurement finished. */
  step(message: string): void {
    this.done++;
    const width = String(this.total).length;
    process.stderr.write(`[bench ${clock(this.elapsed())} ${String(this.done).padStart(width)}/${this.total}] ${message}\n`);
  }
}

function clock(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}
