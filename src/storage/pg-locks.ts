/**
 * {@link Locks} shared by every node of one registry: a row per held key in PostgreSQL, `key → token, owner, until`.
 * Taking a key is one statement (an upsert that only overwrites a row whose lease ran out), so the row lock that
 * PostgreSQL takes for the upsert makes check-and-take atomic across nodes; a node that dies leaves only a row that
 * stops counting at `until`. Expiries are computed and compared on the database's clock (`marina_now_ms()`), so
 * nodes whose clocks disagree still agree on who holds a key; each node keeps a local deadline that starts before
 * its statement, so it never believes in a lease longer than the row's.
 *
 * Why rows and not advisory locks: a session-level advisory lock lives on one connection, so every held key would
 * pin a pooled connection for as long as an upload's PATCH streams, and a lease could not run out while its node
 * stalls with the connection open. Waiters in one process queue on {@link ProcessLocks} first, so only one of them
 * at a time polls the table.
 */
import * as os from 'node:os';
import { LeaseLocks, LockLostError, LockTimeoutError, lockTimes } from './locks.ts';
import { ProcessLocks } from './process-locks.ts';
import type { Lease, LockOptions } from './types.ts';

type SQL = Bun.SQL;

/** Rows of leases that ran out this long ago are removed at start-up (keys nobody used again). */
const STALE_ROW_MS = 60 * 60_000;

/** Locks in the `locks` table of the PG schema (see pg-migrations.ts). */
export class PgLocks extends LeaseLocks {
  private readonly local = new ProcessLocks();
  private readonly owner = `${process.pid}@${os.hostname()}`;

  /** @param release what `close` does with the pool (shared pools: a reference count); nothing by default */
  constructor(private readonly sql: SQL, private readonly release: () => Promise<void> = async () => {}) {
    super();
  }

  /** Removes rows of leases that ran out long ago; call once at start-up. */
  async prune(): Promise<number> {
    const rows = await this.sql`DELETE FROM locks WHERE until < marina_now_ms() - ${STALE_ROW_MS} RETURNING 1`;
    return rows.length;
  }

  async acquire(key: string, options?: LockOptions): Promise<Lease> {
    const { leaseMs, waitMs } = lockTimes(options);
    const deadline = Date.now() + waitMs;
    const local = await this.local.acquire(key, { leaseMs, waitMs });
    // Polls often enough to renew the in-process lease meanwhile, so a second waiter here cannot take it over
    // while this one still waits for a row held by a dead node.
    const longest = Math.max(1, Math.min(50, Math.floor(leaseMs / 3)));
    try {
      for (let pause = 1; ; pause = Math.min(pause * 2, longest)) {
        const lease = await this.take(key, leaseMs, local);
        if (lease) return lease;
        const left = deadline - Date.now();
        if (left <= 0) throw new LockTimeoutError(key, waitMs);
        await Bun.sleep(Math.min(pause, left));
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

  async close(): Promise<void> {
    await this.release();
  }

  /** @internal Extends a row this lease still owns; false when another node has taken the key. */
  async renewRow(key: string, token: string, leaseMs: number): Promise<boolean> {
    const rows = await this.sql`UPDATE locks SET until = marina_now_ms() + ${leaseMs} WHERE key = ${key} AND token = ${token} RETURNING 1`;
    return rows.length === 1;
  }

  /** @internal Deletes a row this lease still owns. */
  async releaseRow(key: string, token: string): Promise<void> {
    await this.sql`DELETE FROM locks WHERE key = ${key} AND token = ${token}`;
  }

  private async take(key: string, leaseMs: number, local: Lease): Promise<PgLease | undefined> {
    const token = crypto.randomUUID();
    const start = Date.now();
    const rows = await this.sql`INSERT INTO locks (key, token, owner, until) VALUES (${key}, ${token}, ${this.owner}, marina_now_ms() + ${leaseMs})
      ON CONFLICT (key) DO UPDATE SET token = excluded.token, owner = excluded.owner, until = excluded.until
      WHERE locks.until <= marina_now_ms() RETURNING 1`;
    return rows.length === 1 ? new PgLease(this, key, token, start + leaseMs, leaseMs, local) : undefined;
  }
}

/** A lease of {@link PgLocks}: a row in the table plus this process's queue position. */
class PgLease implements Lease {
  private lost = false;
  private done = false;

  constructor(
    private readonly locks: PgLocks,
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
