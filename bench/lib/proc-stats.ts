/**
 * Server-side cost of a measurement, read from /proc: CPU time (utime + stime of all threads) and peak RSS.
 * Peak RSS comes from VmHWM after resetting it through /proc/<pid>/clear_refs ("5"); where that reset is not
 * allowed, VmRSS is sampled instead.
 */
import * as fs from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ is 100 on every Linux architecture Bun supports.

/** CPU seconds the process has used so far (user + system, all threads), or NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the whole line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** A `Vm*` value of /proc/<pid>/status in bytes, or NaN. */
export function statusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Resets the process's peak RSS to its current RSS; false when the kernel refuses. */
export function resetPeakRss(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** What a server spent during one measurement. */
export interface ServerCost {
  /** CPU seconds used by the server process. */
  cpuSeconds: number;
  /** CPU seconds per wall second (1.0 = one core busy). */
  cpuShare: number;
  /** Peak resident memory during the measurement, in bytes. */
  peakRssBytes: number;
  /** Resident memory when the measurement began, in bytes (what the peak started from). */
  startRssBytes: number;
  /** How peak RSS was obtained. */
  rssMethod: 'VmHWM' | 'sampled';
}

/** Watches one server process over a measurement: call {@link ServerWatch.finish} when the load is done. */
export class ServerWatch {
  private readonly cpu0: number;
  private readonly t0 = performance.now();
  private readonly hwm: boolean;
  private sampledPeak = 0;
  private readonly timer: Timer | undefined;
  private readonly startRss: number;

  constructor(private readonly pid: number) {
    this.startRss = statusBytes(pid, 'VmRSS');
    this.hwm = resetPeakRss(pid);
    this.cpu0 = cpuSeconds(pid);
    if (!this.hwm) {
      this.sample();
      this.timer = setInterval(() => this.sample(), 50);
    }
  }

  private sample(): void {
    const rss = statusBytes(this.pid, 'VmRSS');
    if (rss > this.sampledPeak) this.sampledPeak = rss;
  }

  /** Stops watching and returns the cost. */
  finish(): ServerCost {
    if (this.timer) clearInterval(this.timer);
    const wall = (performance.now() - this.t0) / 1000;
    const cpu = cpuSeconds(this.pid) - this.cpu0;
    const peak = this.hwm ? statusBytes(this.pid, 'VmHWM') : (this.sample(), this.sampledPeak);
    return { cpuSeconds: cpu, cpuShare: wall > 0 ? cpu / wall : 0, peakRssBytes: peak, startRssBytes: this.startRss, rssMethod: this.hwm ? 'VmHWM' : 'sampled' };
  }
}
