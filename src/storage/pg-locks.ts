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
 * stalls with the connection open. Waiting and leases: row-locks.ts.
 */
import { RowLocks } from './row-locks.ts';

type SQL = Bun.SQL;

/** Rows of leases that ran out this long ago are removed at start-up (keys nobody used again). */
const STALE_ROW_MS = 60 * 60_000;

/** Locks in the `locks` table of the PG schema (see pg-migrations.ts). */
export class PgLocks extends RowLocks {
  /** @param release what `close` does with the pool (shared pools: a reference count); nothing by default */
  constructor(private readonly sql: SQL, private readonly release: () => Promise<void> = async () => {}) {
    super();
  }

  /** Removes rows of leases that ran out long ago; call once at start-up. */
  async prune(): Promise<number> {
    const rows = await this.sql`DELETE FROM locks WHERE until < marina_now_ms() - ${STALE_ROW_MS} RETURNING 1`;
    return rows.length;
  }

  async close(): Promise<void> {
    await this.release();
  }

  protected async takeRow(key: string, token: string, leaseMs: number): Promise<boolean> {
    const rows = await this.sql`INSERT INTO locks (key, token, owner, until) VALUES (${key}, ${token}, ${this.owner}, marina_now_ms() + ${leaseMs})
      ON CONFLICT (key) DO UPDATE SET token = excluded.token, owner = excluded.owner, until = excluded.until
      WHERE locks.until <= marina_now_ms() RETURNING 1`;
    return rows.length === 1;
  }

  async renewRow(key: string, token: string, leaseMs: number): Promise<boolean> {
    const rows = await this.sql`UPDATE locks SET until = marina_now_ms() + ${leaseMs} WHERE key = ${key} AND token = ${token} RETURNING 1`;
    return rows.length === 1;
  }

  async releaseRow(key: string, token: string): Promise<void> {
    await this.sql`DELETE FROM locks WHERE key = ${key} AND token = ${token}`;
  }
}
