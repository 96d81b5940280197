/**
 * {@link Locks} shared by the processes of one host (several `marina serve` workers on one data directory): a row
 * per held key in a SQLite file, `key → token, owner, until`. Taking a key is one statement (an upsert that only
 * overwrites a row whose lease ran out), so SQLite's write lock makes check-and-take atomic across processes, and a
 * killed process leaves nothing behind but a row that stops counting at `until`. Waiters in one process queue on
 * {@link ProcessLocks} first, so only one of them at a time polls the file.
 *
 * Why SQLite rather than a table in the LMDB index: a lock row needs no durable commit (after a crash of the host
 * every holder is dead), and a write here is a WAL append without fsync, while an LMDB commit waits for the index's
 * flush and queues behind manifest writes. Leases compare `Date.now()` of processes on one host, so one clock; a
 * store shared by several nodes (PostgreSQL) takes its time from the database instead.
 */
import type { Database } from 'bun:sqlite';
import * as os from 'node:os';
import { LeaseLocks, LockLostError, LockTimeoutError, lockTimes } from './locks.ts';
import { ProcessLocks } from './process-locks.ts';
import { openSqlite } from './sqlite.ts';
import type { Lease, LockOptions } from './types.ts';

/** Rows of leases that ran out this long ago are removed when the file is opened (keys nobody used again). */
const STALE_ROW_MS = 60 * 60_000;

/** Locks in a SQLite file that every process of the host opens. */
export class SqliteLocks extends LeaseLocks {
  private readonly db: Database;
  private readonly local = new ProcessLocks();
  private readonly owner = `${process.pid}@${os.hostname()}`;
  private readonly q;

  constructor(file: string) {
    super();
    this.db = openSqlite(file);
    this.db.run('CREATE TABLE IF NOT EXISTS locks (key TEXT PRIMARY KEY, token TEXT NOT NULL, owner TEXT NOT NULL, until INTEGER NOT NULL)');
    this.db.query('DELETE FROM locks WHERE until < $before').run({ before: Date.now() - STALE_ROW_MS });
    this.q = {
      take: this.db.query(`INSERT INTO locks (key, token, owner, until) VALUES ($key, $token, $owner, $until)
        ON CONFLICT (key) DO UPDATE SET token = excluded.token, owner = excluded.owner, until = excluded.until
        WHERE locks.until <= $now`),
      renew: this.db.query('UPDATE locks SET until = $until WHERE key = $key AND token = $token'),
      release: this.db.query('DELETE FROM locks WHERE key = $key AND token = $token'),
    };
  }

  async acquire(key: string, options?: LockOptions): Promise<Lease> {
    const { leaseMs, waitMs } = lockTimes(options);
    const deadline = Date.now() + waitMs;
    const local = await this.local.acquire(key, { leaseMs, waitMs });
    // Polls often enough to renew the in-process lease meanwhile, so a second waiter here cannot take it over
    // while this one still waits for a row held by a killed process.
    const longest = Math.max(1, Math.min(50, Math.floor(leaseMs / 3)));
    try {
      for (let pause = 1; ; pause = Math.min(pause * 2, longest)) {
        const lease = this.take(key, leaseMs, local);
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
    const lease = this.take(key, leaseMs, local);
    if (!lease) await local.release();
    return lease;
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /** @internal Extends a row this lease still owns; false when another process has taken the key. */
  renewRow(key: string, token: string, until: number): boolean {
    return this.q.renew.run({ key, token, until }).changes === 1;
  }

  /** @internal Deletes a row this lease still owns. */
  releaseRow(key: string, token: string): void {
    this.q.release.run({ key, token });
  }

  private take(key: string, leaseMs: number, local: Lease): SqliteLease | undefined {
    const token = crypto.randomUUID();
    const now = Date.now();
    const taken = this.q.take.run({ key, token, owner: this.owner, until: now + leaseMs, now }).changes === 1;
    return taken ? new SqliteLease(this, key, token, now + leaseMs, leaseMs, local) : undefined;
  }
}

/** A lease of {@link SqliteLocks}: a row in the file plus this process's queue position. */
class SqliteLease implements Lease {
  private lost = false;
  private done = false;

  constructor(
    private readonly locks: SqliteLocks,
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
    if (!this.locks.renewRow(this.key, this.token, until)) {
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
      this.locks.releaseRow(this.key, this.token);
    } finally {
      await this.local.release();
    }
  }
}
