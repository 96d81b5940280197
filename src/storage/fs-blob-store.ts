/**
 * Filesystem blob store: `<root>/blobs/<alg>/<aa>/<hex>`, uploads in `<root>/uploads/<id>`.
 * Commits are atomic (write, fsync, rename, fsync dir): a reader never sees a partial blob.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crashPoint } from '../crash-points.ts';
import { RegistryError } from '../errors.ts';
import { digestAlgorithm, digestHex, digestOf, isDigestAlgorithm, tryParseDigest, type Digest, type DigestAlgorithm } from '../oci/digest.ts';
import { fsync, fsyncCreatedSync, fsyncDir, isNotFound } from './fs-sync.ts';
import { FsUploadSession } from './fs-upload-session.ts';
import { MultiHasher } from './hashing.ts';
import { ReadCache } from './read-cache.ts';
import type { BlobInfo, BlobStore, UploadSession } from './types.ts';

/** Blobs up to this size are served from memory once read (configs, small layers, signatures). */
const SMALL_BLOB_MAX = 4096;

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
  // Content-addressed bytes never change, so no expiry: a blob deleted meanwhile is unlinked first, and reads
  // check the link before they get here. Sending a small file cost more in open/stat/close than in bytes.
  private readonly smallBlobs = new ReadCache<Blob>(8 * 1024 * 1024, Number.POSITIVE_INFINITY, (blob) => blob.size + 128);

  constructor(options: FsBlobStoreOptions) {
    this.root = path.resolve(options.root);
    this.blobsDir = path.join(this.root, 'blobs');
    this.uploadsDir = path.join(this.root, 'uploads');
    this.sync = options.sync ?? true;
    const created = [fs.mkdirSync(this.blobsDir, { recursive: true }), fs.mkdirSync(this.uploadsDir, { recursive: true })];
    if (this.sync) for (const first of created) if (first) fsyncCreatedSync(first);
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

  async open(digest: Digest, size?: number): Promise<Blob | undefined> {
    // A size from the blob's link means the file is there (links are made after commits, files deleted only
    // once unlinked): no stat, which was a sixth of a small blob GET.
    if (size === undefined) return (await this.stat(digest)) ? Bun.file(this.blobPath(digest)) : undefined;
    return size <= SMALL_BLOB_MAX ? this.openSmall(digest) : Bun.file(this.blobPath(digest));
  }

  private openSmall(digest: Digest): Blob | undefined {
    const cached = this.smallBlobs.get(digest);
    if (cached) return cached;
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(this.blobPath(digest));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    const blob = new Blob([bytes]);
    this.smallBlobs.set(digest, blob);
    return blob;
  }

  async put(digest: Digest, bytes: Uint8Array): Promise<BlobInfo> {
    const actual = digestOf(bytes, digestAlgorithm(digest));
    if (actual !== digest) throw new RegistryError('DIGEST_INVALID', undefined, { detail: { expected: digest, actual } });
    const tmp = path.join(this.uploadsDir, `put-${crypto.randomUUID()}`);
    try {
      const fd = fs.openSync(tmp, 'w');
      try {
        let off = 0;
        while (off < bytes.byteLength) off += fs.writeSync(fd, bytes, off, bytes.byteLength - off);
        if (this.sync) await fsync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return await this.publish(tmp, digest, bytes.byteLength);
    } catch (e) {
      // A full disk (or any failed write) must not leave the partial file behind.
      fs.rmSync(tmp, { force: true });
      throw e;
    }
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

  /**
   * Moves a finished, synced file into place; a concurrent commit of the same digest is harmless. With sync on, the
   * directory entry is made durable, and so are the directories this commit created (`<alg>/`, `<aa>/`): without
   * that, a power cut could lose the new directory and with it a blob already acknowledged.
   */
  async publish(file: string, digest: Digest, size: number): Promise<BlobInfo> {
    const target = this.blobPath(digest);
    const dir = path.dirname(target);
    const created = await fs.promises.mkdir(dir, { recursive: true });
    crashPoint('blob-before-rename');
    await fs.promises.rename(file, target);
    if (this.sync) {
      await fsyncDir(dir);
      if (created) for (let d = path.dirname(dir); d.length >= path.dirname(created).length; d = path.dirname(d)) await fsyncDir(d);
    }
    crashPoint('blob-before-link');
    return { digest, size };
  }

  async startUpload(options: { algorithms?: DigestAlgorithm[] } = {}): Promise<UploadSession> {
    const id = crypto.randomUUID();
    const file = path.join(this.uploadsDir, id);
    // Off the event loop: creating a file waits for the filesystem journal, which other uploads' fsyncs keep busy
    // (a synchronous create was 38% of the server's time in 16-client image pushes).
    await (await fs.promises.open(file, 'wx')).close();
    const session = new FsUploadSession(this, id, file, 0, new MultiHasher(options.algorithms ?? ['sha256']));
    this.sessions.set(id, session);
    return session;
  }

  /**
   * The session of an upload id. A session cached here is trusted only while the partial file still has the size it
   * knows: another process sharing the directory (`serve --workers`) may have appended (or finished the upload)
   * since. Appends only grow the file (a failed one truncates back to where it began), so an equal size means equal
   * bytes; a different size drops the cached state and rebuilds it from the file. Callers hold the upload's lock.
   */
  async resumeUpload(id: string): Promise<UploadSession | undefined> {
    const live = this.sessions.get(id);
    if (!live && !UPLOAD_ID.test(id)) return undefined;
    const file = path.join(this.uploadsDir, id);
    // One stat, synchronous: microseconds, and on every PATCH of a live session.
    const size = fs.statSync(file, { throwIfNoEntry: false })?.size;
    if (live && live.size === size) return live;
    if (live) this.sessions.delete(id);
    if (size === undefined) return undefined;
    // After a restart the hash state is gone: rebuild it once from the partial file, then continue incrementally.
    const hasher = new MultiHasher(['sha256']);
    for await (const chunk of Bun.file(file).slice(0, size).stream()) hasher.update(chunk);
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
    this.smallBlobs.delete(digest);
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

  /** Files in `uploads/` (upload sessions, temporary puts, mirror spools), for consistency checks. */
  async *partials(): AsyncIterable<PartialFile> {
    for (const name of await readdirOrEmpty(this.uploadsDir)) {
      const st = fs.statSync(path.join(this.uploadsDir, name), { throwIfNoEntry: false });
      if (st?.isFile()) yield { name, size: st.size, modifiedAt: st.mtimeMs, session: UPLOAD_ID.test(name) };
    }
  }

  /** True when `uploads/<id>` exists (without reading it, unlike {@link resumeUpload}). */
  hasPartial(name: string): boolean {
    return isPlainName(name) && fs.existsSync(path.join(this.uploadsDir, name));
  }

  /** Removes one file from `uploads/`; false when it was not there. */
  async removePartial(name: string): Promise<boolean> {
    if (!isPlainName(name) || this.sessions.has(name)) return false;
    try {
      await fs.promises.unlink(path.join(this.uploadsDir, name));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /**
   * Moves a blob file whose bytes do not match its name to `<root>/lost+found/`, out of reach of readers but kept
   * for inspection; returns the new path, or undefined when the file was not there.
   */
  async quarantine(digest: Digest): Promise<string | undefined> {
    const dir = path.join(this.root, 'lost+found');
    await fs.promises.mkdir(dir, { recursive: true });
    const target = path.join(dir, `${digest.replace(':', '-')}-${Date.now()}`);
    try {
      await fs.promises.rename(this.blobPath(digest), target);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    if (this.sync) await fsyncDir(path.dirname(this.blobPath(digest)));
    return target;
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

/** A file in `uploads/`. */
export interface PartialFile {
  name: string;
  size: number;
  /** mtime, ms since the epoch. */
  modifiedAt: number;
  /** True when the name is an upload session id (the ledger may claim it); false for temporary puts and spools. */
  session: boolean;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
}

/** A file name inside one directory: no separators, not `.` or `..`. */
function isPlainName(name: string): boolean {
  return name.length > 0 && name.length < 256 && !/[\\/]/.test(name) && name !== '.' && name !== '..';
}
