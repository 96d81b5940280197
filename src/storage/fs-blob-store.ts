/**
 * Filesystem blob store: `<root>/blobs/<alg>/<aa>/<hex>`, uploads in `<root>/uploads/<id>`.
 * Commits are atomic (write, fsync, rename, fsync dir): a reader never sees a partial blob.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RegistryError } from '../errors.ts';
import { digestAlgorithm, digestHex, digestOf, isDigestAlgorithm, tryParseDigest, type Digest, type DigestAlgorithm } from '../oci/digest.ts';
import { hashBlob, MultiHasher } from './hashing.ts';
import { pumpBody } from './stream-writer.ts';
import type { BlobInfo, BlobStore, UploadSession } from './types.ts';

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Options of {@link FsBlobStore}. */
export interface FsBlobStoreOptions {
  /** Directory holding `blobs/` and `uploads/`. */
  root: string;
  /** fsync blobs and directories on commit. @default true */
  sync?: boolean;
}

/** Blob store on a local filesystem. */
export class FsBlobStore implements BlobStore {
  readonly root: string;
  private readonly blobsDir: string;
  readonly uploadsDir: string;
  private readonly sync: boolean;
  private readonly sessions = new Map<string, FsUploadSession>();

  constructor(options: FsBlobStoreOptions) {
    this.root = path.resolve(options.root);
    this.blobsDir = path.join(this.root, 'blobs');
    this.uploadsDir = path.join(this.root, 'uploads');
    this.sync = options.sync ?? true;
    fs.mkdirSync(this.blobsDir, { recursive: true });
    fs.mkdirSync(this.uploadsDir, { recursive: true });
  }

  /** Path of a blob on disk. */
  blobPath(digest: Digest): string {
    const hex = digestHex(digest);
    // Plain concatenation: path.join showed up in blob GET profiles, and every part here is already normalised.
    return `${this.blobsDir}/${digestAlgorithm(digest)}/${hex.slice(0, 2)}/${hex}`;
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    // A local stat is a microsecond syscall; the async form costs a thread-pool round trip on every blob read.
    const st = fs.statSync(this.blobPath(digest), { throwIfNoEntry: false });
    return st ? { digest, size: st.size } : undefined;
  }

  async open(digest: Digest): Promise<Blob | undefined> {
    const info = await this.stat(digest);
    if (!info) return undefined;
    return Bun.file(this.blobPath(digest));
  }

  async put(digest: Digest, bytes: Uint8Array): Promise<BlobInfo> {
    const actual = digestOf(bytes, digestAlgorithm(digest));
    if (actual !== digest) throw new RegistryError('DIGEST_INVALID', undefined, { detail: { expected: digest, actual } });
    const tmp = path.join(this.uploadsDir, `put-${crypto.randomUUID()}`);
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, bytes);
      if (this.sync) await fsync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return this.publish(tmp, digest, bytes.byteLength);
  }

  async importFile(file: string, digest: Digest, size: number): Promise<BlobInfo> {
    if (this.sync) {
      const fd = fs.openSync(file, 'r');
      try {
        await fsync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    return this.publish(file, digest, size);
  }

  /** Moves a finished, synced file into place; a concurrent commit of the same digest is harmless. */
  async publish(file: string, digest: Digest, size: number): Promise<BlobInfo> {
    const target = this.blobPath(digest);
    const dir = path.dirname(target);
    await fs.promises.mkdir(dir, { recursive: true });
    await fs.promises.rename(file, target);
    if (this.sync) await fsyncDir(dir);
    return { digest, size };
  }

  async startUpload(options: { algorithms?: DigestAlgorithm[] } = {}): Promise<UploadSession> {
    const id = crypto.randomUUID();
    const file = path.join(this.uploadsDir, id);
    fs.closeSync(fs.openSync(file, 'wx'));
    const session = new FsUploadSession(this, id, file, 0, new MultiHasher(options.algorithms ?? ['sha256']));
    this.sessions.set(id, session);
    return session;
  }

  async resumeUpload(id: string): Promise<UploadSession | undefined> {
    const live = this.sessions.get(id);
    if (live) return live;
    if (!UPLOAD_ID.test(id)) return undefined;
    const file = path.join(this.uploadsDir, id);
    let size: number;
    try {
      size = (await fs.promises.stat(file)).size;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    // After a restart the hash state is gone: rebuild it once from the partial file, then continue incrementally.
    const hasher = new MultiHasher(['sha256']);
    for await (const chunk of Bun.file(file).stream()) hasher.update(chunk);
    const again = this.sessions.get(id);
    if (again) return again;
    const session = new FsUploadSession(this, id, file, size, hasher);
    this.sessions.set(id, session);
    return session;
  }

  /** Forgets a live session (after commit or cancel). */
  release(id: string): void {
    this.sessions.delete(id);
  }

  async delete(digest: Digest): Promise<boolean> {
    try {
      await fs.promises.unlink(this.blobPath(digest));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async *list(): AsyncIterable<Digest> {
    for (const algorithm of await readdirOrEmpty(this.blobsDir)) {
      if (!isDigestAlgorithm(algorithm)) continue;
      for (const prefix of await readdirOrEmpty(path.join(this.blobsDir, algorithm))) {
        for (const hex of await readdirOrEmpty(path.join(this.blobsDir, algorithm, prefix))) {
          const digest = tryParseDigest(`${algorithm}:${hex}`);
          if (digest) yield digest;
        }
      }
    }
  }

  async sweep(maxAgeMs: number, isOpen: (id: string) => boolean): Promise<number> {
    const cutoff = Date.now() - maxAgeMs;
    let removed = 0;
    for (const name of await readdirOrEmpty(this.uploadsDir)) {
      if (UPLOAD_ID.test(name) && (this.sessions.has(name) || isOpen(name))) continue;
      const file = path.join(this.uploadsDir, name);
      try {
        if ((await fs.promises.stat(file)).mtimeMs >= cutoff) continue;
        await fs.promises.rm(file, { force: true });
        removed++;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    this.sessions.clear();
  }

  /** Whether commits fsync. */
  get durable(): boolean {
    return this.sync;
  }
}

/** One upload on disk. Appends are atomic: a failed append truncates back and restores the hash state. */
class FsUploadSession implements UploadSession {
  private finished = false;

  constructor(
    private readonly store: FsBlobStore,
    readonly id: string,
    private readonly file: string,
    private bytes: number,
    private hasher: MultiHasher,
  ) {}

  get size(): number {
    return this.bytes;
  }

  async append(body: ReadableStream<Uint8Array> | Uint8Array, expectedLength?: number): Promise<number> {
    this.assertOpen();
    const before = this.bytes;
    const saved = this.hasher.snapshot();
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r+');
    } catch (e) {
      if (isNotFound(e)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN');
      throw e;
    }
    let position = before;
    try {
      // Synchronous positional writes land in the page cache at memory speed and keep the bytes in order.
      await pumpBody(body, expectedLength, (chunk) => {
        let off = 0;
        while (off < chunk.byteLength) off += fs.writeSync(fd, chunk, off, chunk.byteLength - off, position + off);
        position += chunk.byteLength;
        this.hasher.update(chunk);
      });
      this.bytes = position;
      return this.bytes;
    } catch (e) {
      fs.ftruncateSync(fd, before);
      this.hasher = saved;
      this.bytes = before;
      throw e;
    } finally {
      fs.closeSync(fd);
    }
  }

  async commit(expected: Digest): Promise<BlobInfo> {
    this.assertOpen();
    const algorithm = digestAlgorithm(expected);
    const actual = this.hasher.digest(algorithm) ?? (await hashBlob(Bun.file(this.file), algorithm));
    if (actual !== expected) {
      throw new RegistryError('DIGEST_INVALID', undefined, { detail: { expected, actual } });
    }
    if (this.store.durable) {
      const fd = fs.openSync(this.file, 'r');
      try {
        await fsync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    this.finished = true;
    this.store.release(this.id);
    return this.store.publish(this.file, expected, this.bytes);
  }

  async cancel(): Promise<void> {
    this.finished = true;
    this.store.release(this.id);
    await fs.promises.rm(this.file, { force: true });
  }

  private assertOpen(): void {
    if (this.finished) throw new RegistryError('BLOB_UPLOAD_UNKNOWN');
  }
}

function fsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

async function fsyncDir(dir: string): Promise<void> {
  const fd = fs.openSync(dir, 'r');
  try {
    await fsync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
}

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}
