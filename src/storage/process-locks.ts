/**
 * {@link Locks} inside one process: a FIFO queue per key, no global lock, nothing stored. Each waiter has a deadline,
 * and a lease that runs out (a holder that stalled without renewing) passes the key to the next waiter.
 */
import { LeaseLocks, LockLostError, LockTimeoutError, lockTimes } from './locks.ts';
import type { Lease, LockOptions } from './types.ts';

interface Waiter {
  leaseMs: number;
  grant(lease: ProcessLease): void;
  timer: ReturnType<typeof setTimeout>;
}

interface KeyState {
  holder?: ProcessLease;
  queue: Waiter[];
  /** Fires when the holder's lease runs out while someone waits. */
  expiry?: ReturnType<typeof setTimeout>;
}

/** Locks for one process (the default of a single server, and what the host locks queue on first). */
export class ProcessLocks extends LeaseLocks {
  private readonly keys = new Map<string, KeyState>();

  async acquire(key: string, options?: LockOptions): Promise<Lease> {
    const { leaseMs, waitMs } = lockTimes(options);
    const state = this.stateOf(key);
    if (!state.queue.length && isFree(state)) return this.grant(key, state, leaseMs);
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        leaseMs,
        grant: resolve,
        timer: setTimeout(() => {
          const at = state.queue.indexOf(waiter);
          if (at >= 0) state.queue.splice(at, 1);
          this.handOff(key);
          reject(new LockTimeoutError(key, waitMs));
        }, waitMs),
      };
      state.queue.push(waiter);
      this.handOff(key);
    });
  }

  async tryAcquire(key: string, options?: LockOptions): Promise<Lease | undefined> {
    // Checked and taken in one synchronous step, so no other caller slips in between.
    const state = this.keys.get(key);
    if (state && (state.queue.length || !isFree(state))) return undefined;
    return this.grant(key, this.stateOf(key), lockTimes(options).leaseMs);
  }

  async close(): Promise<void> {}

  /** @internal Called by a lease: is it still the holder of its key? */
  holds(lease: ProcessLease): boolean {
    return this.keys.get(lease.key)?.holder === lease;
  }

  /** @internal Called by a lease that gives its key up. */
  released(lease: ProcessLease): void {
    const state = this.keys.get(lease.key);
    if (state?.holder !== lease) return;
    state.holder = undefined;
    this.handOff(lease.key);
  }

  private stateOf(key: string): KeyState {
    let state = this.keys.get(key);
    if (!state) this.keys.set(key, (state = { queue: [] }));
    return state;
  }

  private grant(key: string, state: KeyState, leaseMs: number): ProcessLease {
    state.holder = new ProcessLease(this, key, leaseMs);
    return state.holder;
  }

  /** Gives a free key to the first waiter, or waits for the holder's lease to run out, or forgets an idle key. */
  private handOff(key: string): void {
    const state = this.keys.get(key);
    if (!state) return;
    if (state.expiry) clearTimeout(state.expiry);
    state.expiry = undefined;
    if (isFree(state) && state.queue.length) {
      const next = state.queue.shift()!;
      clearTimeout(next.timer);
      next.grant(this.grant(key, state, next.leaseMs));
    }
    // A lease that ran out with nobody waiting stays its holder's: a late renewal still succeeds.
    if (state.holder && state.queue.length) {
      // Renewals move `until` later: the timer then finds the lease alive and sets itself again.
      state.expiry = setTimeout(() => this.handOff(key), Math.max(1, state.holder.until - Date.now() + 1));
    } else if (!state.holder && !state.queue.length) {
      this.keys.delete(key);
    }
  }
}

/** A lease of {@link ProcessLocks}. */
class ProcessLease implements Lease {
  /** When the lease runs out (ms since the epoch). */
  until: number;
  private done = false;

  constructor(private readonly locks: ProcessLocks, readonly key: string, private readonly leaseMs: number) {
    this.until = Date.now() + leaseMs;
  }

  check(): void {
    if (this.done || Date.now() >= this.until || !this.locks.holds(this)) throw new LockLostError(this.key);
  }

  async renew(): Promise<void> {
    if (this.done || !this.locks.holds(this)) throw new LockLostError(this.key);
    this.until = Date.now() + this.leaseMs;
  }

  async release(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.locks.released(this);
  }
}

function isFree(state: KeyState): boolean {
  return !state.holder || Date.now() >= state.holder.until;
}
