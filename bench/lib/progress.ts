/**
 * Progress on stderr. On a terminal: a bar redrawn in place (measurements done out of planned, elapsed time, the
 * last measurement), with notes printed above it. Elsewhere (CI logs, pipes): one line per step, prefixed with the
 * elapsed time, so a log shows where a run is.
 */

const BAR_WIDTH = 24;

/** Writes progress; `step` also counts measurements done out of the planned total. */
export class Progress {
  private readonly t0 = performance.now();
  private done = 0;
  private barShown = false;
  private last = '';
  private finished = false;
  /** Redraw a bar in place (stderr is a terminal and NO_COLOR/CI do not say otherwise). */
  readonly bar: boolean;

  constructor(
    private total = 0,
    bar?: boolean,
  ) {
    this.bar = bar ?? (Boolean(process.stderr.isTTY) && !process.env.CI && process.env.TERM !== 'dumb');
  }

  /** Seconds since the run began. */
  elapsed(): number {
    return (performance.now() - this.t0) / 1000;
  }

  /** Sets how many measurements are planned. */
  plan(total: number): void {
    this.total = total;
    this.draw();
  }

  /** Adds measurements to the plan (a phase that learns its size late). */
  extend(n: number): void {
    this.plan(this.total + n);
  }

  /** A free-form line (phases, warnings). */
  note(message: string): void {
    this.clear();
    process.stderr.write(`[bench ${clock(this.elapsed())}] ${message}\n`);
    this.draw();
  }

  /** Measurements that will not run (unsupported, failed probe, time cap): counted without a line. */
  skip(n: number): void {
    this.done += n;
    this.draw();
  }

  /** One measurement finished. */
  step(message: string): void {
    this.done++;
    if (this.bar) {
      this.last = message;
      this.draw();
      return;
    }
    const width = String(this.total).length;
    process.stderr.write(`[bench ${clock(this.elapsed())} ${String(this.done).padStart(width)}/${this.total}] ${message}\n`);
  }

  /** Removes the bar (before the final lines). */
  finish(): void {
    this.clear();
    this.barShown = false;
    this.finished = true;
  }

  private clear(): void {
    if (this.bar && this.barShown) process.stderr.write('\r\x1b[K');
  }

  private draw(): void {
    if (!this.bar || this.total <= 0 || this.finished) return;
    const filled = Math.min(BAR_WIDTH, Math.round((this.done / this.total) * BAR_WIDTH));
    const columns = process.stderr.columns || 100;
    const head = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${this.done}/${this.total} ${clock(this.elapsed())} `;
    const line = head + this.last.slice(0, Math.max(0, columns - head.length - 1));
    process.stderr.write(`\r\x1b[K${line}`);
    this.barShown = true;
  }
}

function clock(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}
