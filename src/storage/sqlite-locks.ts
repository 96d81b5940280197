/**
 * {@link Locks} shared by the processes of one host (several `marina serve` workers on one data directory): a row
 * per held key in a SQLite file, `key → token, owner, until`. Taking a key is one statement (an upsert that only
 * overwrites a row whose lease ran out), so SQLite's write lock makes check-and-take atomic across processes, and a
 * killed process leaves nothing behind but a row that stops counting at `until`. Waiting and leases: row-locks.ts.
 *
 * Why SQLite rather than a table in the LMDB index: a lock row needs no durable commit (after a crash of the host
 * every holder is dead), and a write here is a WAL append without fsync, while an LMDB commit waits for the index's
 * flush and queues behind manifest writes. Leases compare `Date.now()` of processes on one host, so one clock; a
 * store shared by several nodes (PostgreSQL) takes its time from the database instead.
 */
import type { Database } from 'bun:sqlite';
import { RowLocks } from './row-locks.ts';
import { openSqlite } from './sqlite.ts';

/** Rows of leases that ran out this long ago are removed when the file is opened (keys nobody used again). */
const STALE_ROW_MS = 60 * 60_000;

/** Locks in a SQLite file that every process of the host opens. */
export class SqliteLocks extends RowLocks {
  private readonly db: Database;
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

  async close(): Promise<void> {
    this.db.close();
  }

  protected takeRow(key: string, token: string, leaseMs: number): boolean {
    const now = Date.now();
    return this.q.take.run({ key, token, owner: this.owner, until: now + leaseMs, now }).changes === 1;
  }

  renewRow(key: string, token: string, leaseMs: number): boolean {
    return this.q.renew.run({ key, token, until: Date.now() + leaseMs }).changes === 1;
  }

  releaseRow(key: string, token: string): void {
    this.q.release.run({ key, token });
  }
}
