/**
 * The S3 storage bundle, apart from the built-in filesystem one so that a registry on the embedded default never
 * loads the S3 client (its SigV4 signing pulls in node:crypto and streams: several ms of every cold start).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LmdbIndex } from './lmdb-index.ts';
import { ProcessLocks } from './process-locks.ts';
import { S3BlobStore, type S3BlobStoreOptions } from './s3-blob-store.ts';
import { SqliteLocks } from './sqlite-locks.ts';
import type { Storage } from './storage.ts';
import { SqliteUploadLedger } from './upload-ledger.ts';

/** Options of {@link s3Storage}. */
export interface S3StorageOptions {
  /** Data directory for what stays local: `index/` (LMDB), `ledger.sqlite`, the mirror's spool. */
  root: string;
  /** The bucket, prefix and connection of the blob store. */
  s3: S3BlobStoreOptions;
  /** An already constructed store for these options (e.g. one whose access was checked). */
  blobs?: S3BlobStore;
  /** As in {@link FsStorageOptions.locks}: `'host'` for several processes sharing `root` and the bucket. @default 'process' */
  locks?: 'process' | 'host';
}

/** Blobs in S3 (or any S3-compatible store); LMDB metadata, the SQLite upload ledger and host locks stay in `root`. */
export function s3Storage(options: S3StorageOptions): Storage {
  const root = path.resolve(options.root);
  fs.mkdirSync(root, { recursive: true });
  return {
    blobs: options.blobs ?? new S3BlobStore(options.s3),
    index: new LmdbIndex({ dir: path.join(root, 'index'), shared: options.locks === 'host' }),
    ledger: new SqliteUploadLedger(path.join(root, 'ledger.sqlite')),
    // The blob store is shared by nature; upload sessions and digests are serialised by these locks across workers.
    locks: options.locks === 'host' ? new SqliteLocks(path.join(root, 'locks.sqlite')) : new ProcessLocks(),
    root,
  };
}
