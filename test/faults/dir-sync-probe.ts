/**
 * Run by directory-sync.test.ts in a fresh process (so the spy is in place before the store's modules load):
 * commits two blobs into a new FsBlobStore at argv[2], the second into the first one's `<aa>/`, and prints the
 * paths fsynced by each commit as JSON.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const mutable = createRequire(import.meta.url)('node:fs') as typeof fs;
const { openSync, fsync, fsyncSync } = mutable;
const open = new Map<number, string>();
let synced: string[] = [];
mutable.openSync = ((file: fs.PathLike, ...rest: unknown[]) => {
  const fd = (openSync as (...a: unknown[]) => number)(file, ...rest);
  open.set(fd, path.resolve(String(file)));
  return fd;
}) as typeof fs.openSync;
mutable.fsync = ((fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => {
  synced.push(open.get(fd) ?? `fd ${fd}`);
  fsync(fd, cb);
}) as typeof fs.fsync;
mutable.fsyncSync = (fd: number) => {
  synced.push(open.get(fd) ?? `fd ${fd}`);
  fsyncSync(fd);
};

const { FsBlobStore } = await import('../../src/storage/fs-blob-store.ts');
const { digestHex, digestOf } = await import('../../src/oci/digest.ts');
const store = new FsBlobStore({ root: process.argv[2]! });
const first = crypto.getRandomValues(new Uint8Array(100));
synced = [];
const session = await store.startUpload();
await session.append(first);
await session.commit(digestOf(first));
const firstCommit = synced;

let second = crypto.getRandomValues(new Uint8Array(100));
while (digestHex(digestOf(second)).slice(0, 2) !== digestHex(digestOf(first)).slice(0, 2)) second = crypto.getRandomValues(new Uint8Array(100));
synced = [];
await store.put(digestOf(second), second);
process.stdout.write(JSON.stringify({ first: firstCommit, second: synced, dir: path.dirname(store.blobPath(digestOf(first))) }));
