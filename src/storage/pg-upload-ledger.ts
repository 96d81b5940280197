/**
 * The upload ledger in PostgreSQL: every node sees every open session, so a PATCH may land on any node and the
 * idle purge of one node finds sessions started on another. Each call is one statement (autocommit, durable).
 */
import { num } from './pg-connect.ts';
import type { UploadEntry, UploadLedger } from './types.ts';

type SQL = Bun.SQL;

interface Row {
  id: string;
  repository: string;
  started_at: unknown;
  touched_at: unknown;
  owner: string | null;
}

function entryOf(r: Row): UploadEntry {
  const entry: UploadEntry = { id: r.id, repository: r.repository, startedAt: num(r.started_at), touchedAt: num(r.touched_at) };
  return r.owner === null ? entry : { ...entry, owner: r.owner };
}

/** UploadLedger on PostgreSQL (the `uploads` table of the PG schema; see pg-migrations.ts). */
export class PgUploadLedger implements UploadLedger {
  /** @param release what `close` does with the pool (shared pools: a reference count); nothing by default */
  constructor(private readonly sql: SQL, private readonly release: () => Promise<void> = async () => {}) {}

  async add(entry: UploadEntry): Promise<void> {
    await this.sql`INSERT INTO uploads (id, repository, started_at, touched_at, owner)
      VALUES (${entry.id}, ${entry.repository}, ${entry.startedAt}, ${entry.touchedAt}, ${entry.owner ?? null})`;
  }
  async get(id: string): Promise<UploadEntry | undefined> {
    const [row] = (await this.sql`SELECT id, repository, started_at, touched_at, owner FROM uploads WHERE id = ${id}`) as Row[];
    return row ? entryOf(row) : undefined;
  }
  async touch(id: string, at: number): Promise<void> {
    await this.sql`UPDATE uploads SET touched_at = ${at} WHERE id = ${id}`;
  }
  async remove(id: string): Promise<void> {
    await this.sql`DELETE FROM uploads WHERE id = ${id}`;
  }
  async idleSince(before: number): Promise<UploadEntry[]> {
    const rows = (await this.sql`SELECT id, repository, started_at, touched_at, owner FROM uploads WHERE touched_at < ${before} ORDER BY id`) as Row[];
    return rows.map(entryOf);
  }
  async count(repository?: string): Promise<number> {
    const [row] = repository === undefined
      ? await this.sql`SELECT count(*) AS n FROM uploads`
      : await this.sql`SELECT count(*) AS n FROM uploads WHERE repository = ${repository}`;
    return num(row.n);
  }
  async countOwnedBy(owner: string): Promise<number> {
    const [row] = await this.sql`SELECT count(*) AS n FROM uploads WHERE owner = ${owner}`;
    return num(row.n);
  }
  async close(): Promise<void> {
    await this.release();
  }
}
