/**
 * Seeds a Marina data directory through Marina's own library (`createRegistry`), so the stored state is exactly
 * what the server would have written. Large blobs are hard-linked into the blob store instead of copied, and the
 * bulk blobs are written straight to their content-addressed paths; every link and manifest goes through the index.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLogger, createRegistry, FsBlobStore, fsStorage, parseDigest, type Registry } from '../../src/index.ts';
import type { BlobEntry, DataSet } from '../data/dataset.ts';

/** In-flight index writes per batch: LMDB commits a batch of concurrent writes together. */
const BATCH = 2000;

/** Writes the data set into the Marina data directory `root` and closes it. */
export async function seedMarina(root: string, data: DataSet): Promise<void> {
  const registry = createRegistry({ storage: fsStorage({ root, sync: false }), logger: createLogger('warn') });
  try {
    for (const blob of data.getBlobs) await placeFile(registry, blob);
    for (const blob of data.small) await registry.putBlob(blob.repo, blob.bytes!, blob.digest);
    const made = new Set<string>();
    for (let start = 0; start < data.bulk.count; start += BATCH) {
      const links: Promise<unknown>[] = [];
      for (let i = start; i < Math.min(data.bulk.count, start + BATCH); i++) {
        const blob = data.bulk.entry(i);
        writeBlobFile(registry, blob, made);
        links.push(registry.storage.index.linkBlob(blob.repo, parseDigest(blob.digest)));
      }
      await Promise.all(links);
    }
    for (let start = 0; start < data.manifests.length; start += BATCH) {
      await Promise.all(
        data.manifests.slice(start, start + BATCH).map((m) => {
          const [reference = m.digest, ...more] = m.tags;
          return registry.putManifest(m.repo, reference, m.bytes, m.mediaType, more);
        }),
      );
    }
  } finally {
    await registry.close();
  }
}

/** Links a big blob's file into the store (no copy), then links it into its repository. */
async function placeFile(registry: Registry, blob: BlobEntry): Promise<void> {
  const store = registry.storage.blobs;
  if (!(store instanceof FsBlobStore) || !blob.file) {
    await registry.putBlob(blob.repo, Bun.file(blob.file!).stream(), blob.digest);
    return;
  }
  const target = store.blobPath(parseDigest(blob.digest));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.rmSync(target, { force: true });
  fs.linkSync(blob.file, target);
  await registry.storage.index.linkBlob(blob.repo, parseDigest(blob.digest));
}

/** Writes a small blob at its content-addressed path (the store's own layout). */
function writeBlobFile(registry: Registry, blob: BlobEntry, made: Set<string>): void {
  const store = registry.storage.blobs;
  if (!(store instanceof FsBlobStore)) throw new Error('bulk seeding needs the filesystem blob store');
  const file = store.blobPath(parseDigest(blob.digest));
  const dir = path.dirname(file);
  if (!made.has(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    made.add(dir);
  }
  fs.writeFileSync(file, blob.bytes!);
}
