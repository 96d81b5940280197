/**
 * What the lock stores with one row per held key (`key → token, owner, until`: SQLite for one host, PostgreSQL for
 * many nodes) share: waiters of one process queue on {@link ProcessLocks} first, so only one of them at a time polls
 * the store; the one in front polls with a growing pause until the row is free or its deadline passes; a lease's
 * local deadline starts before the statement that sets the row's, so this process never believes in a lease longer
 * than the store does. A subclass says only how to take, extend and delete a row.
 */
import * as os from 'node:os';
import { LeaseLocks, LockLostError, LockTimeoutError, lockTimes } from './locks.ts';
import { ProcessLocks } from './process-locks.ts';
import type { Lease, LockOptions, MaybePromise } from './types.ts';

/** Locks kept as rows with leases in a store that every process sharing the keys reaches. */
export abstract class RowLocks extends LeaseLocks {
  private readonly local = new ProcessLocks();
  /** Who holds a row, for people reading the store. */
  protected readonly owner = `${process.pid}@${os.hostname()}`;

  /** Writes the row of `key` with `token` for `leaseMs` unless a live lease holds it; true when taken. */
  protected abstract takeRow(key: string, token: string, leaseMs: number): MaybePromise<boolean>;
  /** @internal Extends a row `token` still owns by `leaseMs` from now; false when another holder has taken the key. */
  abstract renewRow(key: string, token: string, leaseMs: number): MaybePromise<boolean>;
  /** @internal Deletes a row `token` still owns. */
  abstract releaseRow(key: string, token: string): MaybePromise<void>;

  async acquire(key: string, options?: LockOptions): Promise<Lease> {
    const { leaseMs, waitMs } = lockTimes(options);
    const deadline = Date.now() + waitMs;
    const local = await this.local.acquire(key, { leaseMs, waitMs });
    // Polls often enough to renew the in-process lease meanwhile, so a second waiter here cannot take it over
    // while this one still waits for a row held by a killed process.
    const longest = Math.max(1, Math.min(50, Math.floor(leaseMs / 3)));
    try {
      for (let pause = 1; ; pause = Math.min(pause * 2, longest)) {
        const lease = await this.take(key, leaseMs, local);
        if (lease) return lease;
        const left = deadline - Date.now();
        if (left <= 0) throw new LockTimeoutError(key, waitMs);
        await Bun.sleep(Math.min(pause, left));
        // Lost only when this process stalled past the lease meanwhile; the row still decides who holds the key.
        await local.renew().catch(() => undefined);
      }
    } catch (error) {
      await local.release();
      throw error;
    }
  }

  async tryAcquire(key: string, options?: LockOptions): Promise<Lease | undefined> {
    const { leaseMs } = lockTimes(options);
    const local = await this.local.tryAcquire(key, { leaseMs });
    if (!local) return undefined;
    try {
      const lease = await this.take(key, leaseMs, local);
      if (!lease) await local.release();
      return lease;
    } catch (error) {
      await local.release();
      throw error;
    }
  }

  private async take(key: string, leaseMs: number, local: Lease): Promise<Lease | undefined> {
    const token = crypto.randomUUID();
    const start = Date.now();
    return (await this.takeRow(key, token, leaseMs)) ? new RowLease(this, key, token, start + leaseMs, leaseMs, local) : undefined;
  }
}

/** A lease of {@link RowLocks}: a row in the store plus this process's queue position. */
class RowLease implements Lease {
  private lost = false;
  private done = false;

  constructor(
    private readonly locks: RowLocks,
    readonly key: string,
    private readonly token: string,
    private until: number,
    private readonly leaseMs: number,
    private readonly local: Lease,
  ) {}

  check(): void {
    if (this.done || this.lost || Date.now() >= this.until) throw new LockLostError(this.key);
  }

  async renew(): Promise<void> {
    if (this.done || this.lost) throw new LockLostError(this.key);
    // The new deadline counts from before the write, so this process never believes in a lease longer than the row's.
    const until = Date.now() + this.leaseMs;
    if (!(await this.locks.renewRow(this.key, this.token, this.leaseMs))) {
      this.lost = true;
      throw new LockLostError(this.key);
    }
    this.until = until;
    await this.local.renew().catch(() => undefined);
  }

  async release(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      await this.locks.releaseRow(this.key, this.token);
    } finally {
      await this.local.release();
    }
  }
}
