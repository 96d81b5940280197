/**
 * Mirror counters over time: a fixed-size ring buffer of samples taken on a timer (and on demand), so the charts
 * cost memory bounded by {@link MirrorSamples.capacity} whatever the uptime. Samples live in memory only; they start
 * again at a restart (the mirror's own counters do too).
 */
import { readMirror, type MirrorCounters } from './mirror-reader.ts';

/** One sample: the mirror's cumulative counters at a moment. */
export interface MirrorSample extends MirrorCounters {
  at: number;
}

/** The ring buffer and its timer. */
export class MirrorSamples {
  private readonly ring: (MirrorSample | undefined)[];
  private next = 0;
  private count = 0;
  private readonly timer: ReturnType<typeof setInterval>;

  /**
   * @param mirror the registry's mirror, read through its public methods only
   * @param intervalMs time between samples
   * @param capacity samples kept (360 × 10 s = one hour)
   */
  constructor(
    private readonly mirror: unknown,
    intervalMs = 10_000,
    readonly capacity = 360,
  ) {
    this.ring = new Array(capacity);
    void this.take();
    this.timer = setInterval(() => void this.take(), Math.max(100, intervalMs));
    this.timer.unref?.();
  }

  /** Records the counters now (resolves once they are read). */
  async take(): Promise<void> {
    const counters = (await readMirror(this.mirror)).counters;
    if (!counters) return;
    this.ring[this.next] = { at: Date.now(), ...counters };
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The samples, oldest first. */
  all(): MirrorSample[] {
    const out: MirrorSample[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.ring[(this.next - this.count + i + this.capacity) % this.capacity]!);
    return out;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
