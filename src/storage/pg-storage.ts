/**
 * The storage bundle of a node that shares its metadata through PostgreSQL: the index, the upload ledger, the locks
 * and (for a mirror) the cache ledger all live in one database, on one connection pool per process, so any number of
 * nodes pointed at the same database and the same blob store (S3) serve one registry.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openPg, sharedPool } from './pg-connect.ts';
import { redactedUrl } from './redacted-url.ts';
import { PgIndex } from './pg-index.ts';
import { PgLocks } from './pg-locks.ts';
import { migrate } from './pg-migrations.ts';
import { PgMirrorLedger } from './pg-mirror-ledger.ts';
import { PgUploadLedger } from './pg-upload-ledger.ts';
import type { Storage } from './storage.ts';
import type { BlobStore } from './types.ts';

/** Options of {@link pgStorage}. */
export interface PgStorageOptions {
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** The blob store every node shares (S3), or a node's own (filesystem: one node, or a shared filesystem). */
  blobs: BlobStore;
  /** Directory for what stays local to the node (the mirror's spool). */
  root: string;
  /** Connections in this process's pool. @default 10 */
  poolSize?: number;
}

/** A {@link Storage} on PostgreSQL, with the mirror's cache ledger in the same database. */
export interface PgStorage extends Storage {
  /** A cache ledger for the pull-through mirror on the same pool (the mirror closes it). */
  mirrorLedger(): PgMirrorLedger;
}

/**
 * Opens the pool, applies the schema migrations (see pg-migrations.ts) and removes long-expired lock rows. Throws,
 * with PostgreSQL's reason, when the database cannot be reached or migrated, so a node stops at start-up instead of
 * failing requests later. The pool closes when the last of its stores is closed.
 */
export async function pgStorage(options: PgStorageOptions): Promise<PgStorage> {
  const root = path.resolve(options.root);
  fs.mkdirSync(root, { recursive: true });
  const sql = openPg({ url: options.url, max: options.poolSize });
  try {
    await migrate(sql);
  } catch (error) {
    await sql.close({ timeout: 1 }).catch(() => undefined);
    throw new Error(`PostgreSQL index ${redactedUrl(options.url)} is not usable: ${(error as Error).message}`, { cause: error });
  }
  const share = sharedPool(sql);
  const locks = new PgLocks(sql, share());
  await locks.prune();
  return {
    blobs: options.blobs,
    index: new PgIndex(sql, share()),
    ledger: new PgUploadLedger(sql, share()),
    locks,
    root,
    mirrorLedger: () => new PgMirrorLedger(sql, share()),
  };
}


export { redactedUrl } from './redacted-url.ts';
