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
    this.q = {
      add: this.db.query('INSERT INTO uploads (id, repository, started_at, touched_at) VALUES ($id, $repository, $startedAt, $touchedAt)'),
      get: this.db.query<{ id: string; repository: string; startedAt: number; touchedAt: number }, { id: string }>(
        'SELECT id, repository, started_at AS startedAt, touched_at AS touchedAt FROM uploads WHERE id = $id'),
      touch: this.db.query('UPDATE uploads SET touched_at = $at WHERE id = $id'),
      remove: this.db.query('DELETE FROM uploads WHERE id = $id'),
      idle: this.db.query<UploadEntry, { before: number }>(
        'SELECT id, repository, started_at AS startedAt, touched_at AS touchedAt FROM uploads WHERE touched_at < $before'),
      count: this.db.query<{ n: number }, []>('SELECT count(*) AS n FROM uploads'),
      countIn: this.db.query<{ n: number }, { repository: string }>('SELECT count(*) AS n FROM uploads WHERE repository = $repository'),
    };
  }

  add(entry: UploadEntry): void {
    this.q.add.run({ ...entry });
  }
  get(id: string): UploadEntry | undefined {
    return this.q.get.get({ id }) ?? undefined;
  }
  touch(id: string, at: number): void {
    this.q.touch.run({ id, at });
  }
  remove(id: string): void {
    this.q.remove.run({ id });
  }
  idleSince(before: number): UploadEntry[] {
    return this.q.idle.all({ before });
  }
  count(repository?: string): number {
    return (repository === undefined ? this.q.count.get() : this.q.countIn.get({ repository }))?.n ?? 0;
  }
  close(): void {
    this.db.close();
  }
}
