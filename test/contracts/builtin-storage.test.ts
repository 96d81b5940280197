/** The built-in stores pass the storage contracts. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteMirrorLedger } from '../../src/mirror/ledger.ts';
import { FsBlobStore } from '../../src/storage/fs-blob-store.ts';
import { LmdbIndex } from '../../src/storage/lmdb-index.ts';
import { MemoryBlobStore, MemoryIndex, MemoryUploadLedger } from '../../src/storage/memory.ts';
import { ProcessLocks } from '../../src/storage/process-locks.ts';
import { SqliteLocks } from '../../src/storage/sqlite-locks.ts';
import { SqliteUploadLedger } from '../../src/storage/upload-ledger.ts';
import { blobStoreContract } from './blob-store.contract.ts';
import { locksContract } from './locks.contract.ts';
import { metadataIndexContract } from './metadata-index.contract.ts';
import { mirrorLedgerContract } from './mirror-ledger.contract.ts';
import { uploadLedgerContract } from './upload-ledger.contract.ts';
import { deferred, INDEX_READS, MIRROR_LEDGER_METHODS, UPLOAD_LEDGER_METHODS } from '../support/deferred-stores.ts';

function tempDir(): { dir: string; cleanup: () => Promise<void> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-contract-'));
  return { dir, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

blobStoreContract('FsBlobStore', async () => {
  const { dir, cleanup } = tempDir();
  return { store: new FsBlobStore({ root: dir }), cleanup };
});
blobStoreContract('MemoryBlobStore', async () => ({ store: new MemoryBlobStore() }));
metadataIndexContract('LmdbIndex', async () => {
  const { dir, cleanup } = tempDir();
  return { index: new LmdbIndex({ dir }), cleanup };
});
metadataIndexContract('MemoryIndex', async () => ({ index: new MemoryIndex() }));
// The suites themselves must await every answer, or a network store could not pass them.
metadataIndexContract('MemoryIndex answering later', async () => ({ index: deferred(new MemoryIndex(), INDEX_READS) }));
uploadLedgerContract('SqliteUploadLedger', async () => {
  const { dir, cleanup } = tempDir();
  const file = path.join(dir, 'ledger.sqlite');
  return { ledger: new SqliteUploadLedger(file), cleanup, another: () => new SqliteUploadLedger(file) };
}, { shared: true });
uploadLedgerContract('MemoryUploadLedger', async () => ({ ledger: new MemoryUploadLedger() }));
uploadLedgerContract('SqliteUploadLedger answering later', async () => {
  const { dir, cleanup } = tempDir();
  const file = path.join(dir, 'ledger.sqlite');
  const later = (ledger: SqliteUploadLedger) => deferred(ledger, UPLOAD_LEDGER_METHODS);
  return { ledger: later(new SqliteUploadLedger(file)), cleanup, another: () => later(new SqliteUploadLedger(file)) };
}, { shared: true });
mirrorLedgerContract('SqliteMirrorLedger', async () => {
  const { dir, cleanup } = tempDir();
  const file = path.join(dir, 'mirror.sqlite');
  return { ledger: new SqliteMirrorLedger(file), cleanup, another: () => new SqliteMirrorLedger(file) };
}, { shared: true });
mirrorLedgerContract('SqliteMirrorLedger answering later', async () => {
  const { dir, cleanup } = tempDir();
  const file = path.join(dir, 'mirror.sqlite');
  const later = (ledger: SqliteMirrorLedger) => deferred(ledger, MIRROR_LEDGER_METHODS);
  return { ledger: later(new SqliteMirrorLedger(file)), cleanup, another: () => later(new SqliteMirrorLedger(file)) };
}, { shared: true });
locksContract('SqliteLocks (one host)', async () => {
  const { dir, cleanup } = tempDir();
  const file = path.join(dir, 'locks.sqlite');
  const peerScript = path.join(import.meta.dir, '../support/lock-peer.ts');
  return {
    locks: new SqliteLocks(file),
    cleanup,
    peer: ({ key, leaseMs, holdMs, rounds }) => [process.execPath, peerScript, file, key, String(leaseMs), String(holdMs), String(rounds)],
  };
}, { crossProcess: true });
locksContract('ProcessLocks', async () => ({ locks: new ProcessLocks() }));
