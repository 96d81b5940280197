/** Storage bundles: the stores a registry runs on, and the factories for the built-in ones. */
import * as path from 'node:path';
import { FsBlobStore } from './fs-blob-store.ts';
import { LmdbIndex } from './lmdb-index.ts';
import { SqliteUploadLedger, type UploadLedger } from './upload-ledger.ts';
import type { BlobStore, MetadataIndex } from './types.ts';

/** The three stores a registry needs. */
export interface Storage {
  blobs: BlobStore;
  index: MetadataIndex;
  ledger: UploadLedger;
  /** The data directory, for stores kept on disk (the mirror puts its spool and ledger beside them). */
  root?: string;
}

/** Options of {@link fsStorage}. */
export interface FsStorageOptions {
  /** Data directory: `blobs/`, `uploads/`, `index/` (LMDB) and `ledger.sqlite` live under it. */
  root: string;
  /** fsync blobs on commit. @default true */
  sync?: boolean;
}

/** The embedded default: filesystem blobs, LMDB metadata, SQLite upload ledger. */
export function fsStorage(options: FsStorageOptions): Storage {
  const root = path.resolve(options.root);
  return {
    blobs: new FsBlobStore({ root, sync: options.sync }),
    index: new LmdbIndex({ dir: path.join(root, 'index') }),
    ledger: new SqliteUploadLedger(path.join(root, 'ledger.sqlite')),
    root,
  };
}
