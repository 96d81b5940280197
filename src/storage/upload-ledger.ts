/**
 * The upload ledger (bun:sqlite): which repository owns which open upload session, and when it was last touched,
 * so sessions survive restarts and abandoned ones can be purged.
 */
import type { Database } from 'bun:sqlite';
import { openSqlite } from './sqlite.ts';
import type { UploadEntry, UploadLedger } from './types.ts';

export type { UploadEntry, UploadLedger } from './types.ts';

/** {@link UploadLedger} in a SQLite file (WAL). */
export class SqliteUploadLedger implements UploadLedger {
  private readonly db: Database;
  private readonly q;

  constructor(file: string) {
    this.db = openSqlite(file);
    this.db.run(`CREATE TABLE IF NOT EXISTS uploads (
      id TEXT PRIMARY KEY, repository TEXT NOT NULL, started_at INTEGER NOT NULL, touched_at INTEGER NOT NULL)`);
    this.db.run('CREATE INDEX IF NOT EXISTS uploads_touched ON uploads (touched_at)');
    this.db.run('CREATE INDEX IF NOT EXISTS uploads_repository ON uploads (repository)');
    // Ledgers made before sessions had owners gain the column; their sessions stay ownerless.
    const columns = this.db.query<{ name: string }, []>('PRAGMA table_info(uploads)').all();
    if (!columns.some((c) => c.name === 'owner')) this.db.run('ALTER TABLE uploads ADD COLUMN owner TEXT');
    this.db.run('CREATE INDEX IF NOT EXISTS uploads_owner ON uploads (owner) WHERE owner IS NOT NULL');
    this.q = {
      add: this.db.query('INSERT INTO uploads (id, repository, started_at, touched_at, owner) VALUES ($id, $repository, $startedAt, $touchedAt, $owner)'),
      get: this.db.query<{ id: string; repository: string; startedAt: number; touchedAt: number; owner: string | null }, { id: string }>(
        'SELECT id, repository, started_at AS startedAt, touched_at AS touchedAt, owner FROM uploads WHERE id = $id'),
      touch: this.db.query('UPDATE uploads SET touched_at = $at WHERE id = $id'),
      remove: this.db.query('DELETE FROM uploads WHERE id = $id'),
      idle: this.db.query<{ id: string; repository: string; startedAt: number; touchedAt: number; owner: string | null }, { before: number }>(
        'SELECT id, repository, started_at AS startedAt, touched_at AS touchedAt, owner FROM uploads WHERE touched_at < $before'),
      count: this.db.query<{ n: number }, []>('SELECT count(*) AS n FROM uploads'),
      countIn: this.db.query<{ n: number }, { repository: string }>('SELECT count(*) AS n FROM uploads WHERE repository = $repository'),
      countOwned: this.db.query<{ n: number }, { owner: string }>('SELECT count(*) AS n FROM uploads WHERE owner = $owner'),
    };
  }

  add(entry: UploadEntry): void {
    this.q.add.run({ id: entry.id, repository: entry.repository, startedAt: entry.startedAt, touchedAt: entry.touchedAt, owner: entry.owner ?? null });
  }
  get(id: string): UploadEntry | undefined {
    const row = this.q.get.get({ id });
    return row ? entryOf(row) : undefined;
  }
  touch(id: string, at: number): void {
    this.q.touch.run({ id, at });
  }
  remove(id: string): void {
    this.q.remove.run({ id });
  }
  idleSince(before: number): UploadEntry[] {
    return this.q.idle.all({ before }).map(entryOf);
  }
  countOwnedBy(owner: string): number {
    return this.q.countOwned.get({ owner })?.n ?? 0;
  }
  count(repository?: string): number {
    return (repository === undefined ? this.q.count.get() : this.q.countIn.get({ repository }))?.n ?? 0;
  }
  close(): void {
    this.db.close();
  }
}

function entryOf(row: { id: string; repository: string; startedAt: number; touchedAt: number; owner: string | null }): UploadEntry {
  const { owner, ...entry } = row;
  return owner === null ? entry : { ...entry, owner };
}
