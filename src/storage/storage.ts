/** Storage bundles: the stores a registry runs on, and the factories for the built-in ones. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FsBlobStore } from './fs-blob-store.ts';
import { LmdbIndex } from './lmdb-index.ts';
import { ProcessLocks } from './process-locks.ts';
import { SqliteLocks } from './sqlite-locks.ts';
import { SqliteUploadLedger } from './upload-ledger.ts';
import type { BlobStore, Locks, MetadataIndex, UploadLedger } from './types.ts';

/** The stores a registry needs. */
export interface Storage {
  blobs: BlobStore;
  index: MetadataIndex;
  ledger: UploadLedger;
  /**
   * Locks on upload sessions and digests. Every process (or node) sharing these stores must share them too;
   * without them a registry uses in-process locks, right only for a single process.
   */
  locks?: Locks;
  /** The data directory, for stores kept on disk (the mirror puts its spool and ledger beside them). */
  root?: string;
}

/** Options of {@link fsStorage}. */
export interface FsStorageOptions {
  /** Data directory: `blobs/`, `uploads/`, `index/` (LMDB) and `ledger.sqlite` live under it. */
  root: string;
  /** fsync blobs on commit. @default true */
  sync?: boolean;
  /**
   * `'process'`: locks in memory, for one server process per data directory. `'host'`: locks in `locks.sqlite`,
   * for several processes on one host sharing the directory (`marina serve --workers`). @default 'process'
   */
  locks?: 'process' | 'host';
}

/** The embedded default: filesystem blobs, LMDB metadata, SQLite upload ledger, in-process or host locks. */
export function fsStorage(options: FsStorageOptions): Storage {
  const root = path.resolve(options.root);
  return {
    blobs: new FsBlobStore({ root, sync: options.sync }),
    // Host locks mean other processes write the same index: its read caches must follow them.
    index: new LmdbIndex({ dir: path.join(root, 'index'), shared: options.locks === 'host' }),
    ledger: new SqliteUploadLedger(path.join(root, 'ledger.sqlite')),
    locks: options.locks === 'host' ? new SqliteLocks(path.join(root, 'locks.sqlite')) : new ProcessLocks(),
    root,
  };
}

/** What {@link recoverUploads} cleaned up. */
export interface UploadRecovery {
  /** Partial files in `uploads/` that no open session claims (temporary puts, spools, unrecorded sessions). */
  partialFiles: number;
  /** Ledger entries whose partial file is gone (the session cannot continue). */
  staleSessions: number;
}

/**
 * Start-up recovery, for the one server that owns a data directory, before it takes requests: removes the
 * partial files a crash left in `uploads/` that no open session claims (sessions in the ledger survive restarts and
 * are kept), and forgets ledger entries whose file is gone. Not for second processes (`gc`, `fsck`) beside a
 * live server, whose in-flight files it would take.
 */
export async function recoverUploads(storage: Storage): Promise<UploadRecovery> {
  const open = new Set((await storage.ledger.idleSince(Number.MAX_SAFE_INTEGER)).map((e) => e.id));
  const partialFiles = (await storage.blobs.sweep?.(0, (id) => open.has(id))) ?? 0;
  let staleSessions = 0;
  if (storage.blobs instanceof FsBlobStore) {
    for (const id of open) {
      if (storage.blobs.hasPartial(id)) continue;
      await storage.ledger.remove(id);
      staleSessions++;
    }
  }
  return { partialFiles, staleSessions };
}

