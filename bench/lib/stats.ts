/** Small statistics helpers: median, spread and percentiles. */

/** The median of the values (NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** (max − min) / median, as a fraction: how far apart the rounds landed. 0 for fewer than two values. */
export function spread(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = median(values);
  return m === 0 ? 0 : (Math.max(...values) - Math.min(...values)) / Math.abs(m);
}

/** The p-th percentile (0–100) of values already sorted ascending, nearest-rank. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** A growable buffer of latencies (ms) that keeps at most `cap` samples, evenly thinned beyond that. */
export class LatencyRecorder {
  private samples: Float64Array;
  private count = 0;
  private seen = 0;

  constructor(private readonly cap = 200_000) {
    this.samples = new Float64Array(Math.min(cap, 4096));
  }

  /** Records one latency in milliseconds. */
  add(ms: number): void {
    this.seen++;
    if (this.count < this.cap) {
      if (this.count === this.samples.length) {
        const bigger = new Float64Array(Math.min(this.cap, this.samples.length * 2));
        bigger.set(this.samples);
        this.samples = bigger;
      }
      this.samples[this.count++] = ms;
      return;
    }
    // Reservoir sampling keeps the percentiles unbiased once the buffer is full.
    const slot = Math.floor(Math.random() * this.seen);
    if (slot < this.cap) this.samples[slot] = ms;
  }

  /** p50 and p99 in milliseconds, or undefined without samples. */
  summary(): { p50Ms: number; p99Ms: number } | undefined {
    if (this.count === 0) return undefined;
    const sorted = this.samples.slice(0, this.count).sort();
    return { p50Ms: percentileSorted(sorted, 50), p99Ms: percentileSorted(sorted, 99) };
  }
}
