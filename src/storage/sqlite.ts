/** Opening the bookkeeping databases (bun:sqlite) the same way everywhere. */
import { Database } from 'bun:sqlite';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Opens (creating) a SQLite file, or `:memory:`, in WAL mode with NORMAL sync: bookkeeping that a crash may set
 * back by one transaction, never corrupt. Several processes may open the same file.
 */
export function openSqlite(file: string): Database {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, { create: true, strict: true });
  // Another process (a server beside `marina gc` or `marina cache prune`) may hold the write lock for a moment:
  // wait for it, bounded, instead of failing at once with "database is locked".
  db.run('PRAGMA busy_timeout = 5000');
  db.run('PRAGMA journal_mode = WAL');
  db.run('PRAGMA synchronous = NORMAL');
  return db;
}
