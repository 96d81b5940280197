/** The built-in stores pass the storage contracts. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../src/storage/fs-blob-store.ts';
import { LmdbIndex } from '../../src/storage/lmdb-index.ts';
import { MemoryBlobStore, MemoryIndex } from '../../src/storage/memory.ts';
import { blobStoreContract } from './blob-store.contract.ts';
import { metadataIndexContract } from './metadata-index.contract.ts';

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
