/**
 * Blob store on S3-compatible object storage, through Bun's built-in S3 client. Content-addressed objects under
 * `<prefix>/blobs/<alg>/<aa>/<hex>`; an object appears under its digest key only after its bytes were verified
 * (S3 writes, completions and copies are atomic: readers see nothing or the whole object). Upload sessions are S3
 * multipart uploads: see s3-uploads.ts.
 */
import { RegistryError } from '../errors.ts';
import { digestAlgorithm, digestHex, digestOf, isDigestAlgorithm, tryParseDigest, type Digest, type DigestAlgorithm } from '../oci/digest.ts';
import { markRemoteBody } from './remote-body.ts';
import { S3Api, type S3Connection } from './s3-api.ts';
import { MAX_STATE_BYTES, newHasher, newState, parseState, S3UploadSession, type UploadStateRecord } from './s3-uploads.ts';
import type { BlobInfo, BlobStore, UploadSession } from './types.ts';

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MIB = 1024 * 1024;
/** S3's smallest part (all but the last). */
export const MIN_PART_SIZE = 5 * MIB;
/** Budget of staged runs kept in memory per store (see writeStaged). */
const STAGED_CACHE_BYTES = 64 * MIB;
/** S3's largest single CopyObject; bigger blobs are copied part by part. */
const MAX_COPY_OBJECT = 5 * 1024 * MIB;

/** Options of {@link S3BlobStore}. */
export interface S3BlobStoreOptions extends S3Connection {
  /** Key prefix inside the bucket (no leading or trailing slash), e.g. `registry`. @default '' */
  prefix?: string;
  /** Size of multipart upload parts; at least 5 MiB. @default 8 MiB */
  partSize?: number;
  /** Blobs above this are published with a multipart copy instead of one CopyObject. @default 5 GiB */
  copyLimit?: number;
  /** Answer blob GETs with a 307 to a presigned S3 URL, so the bytes need not pass through Marina. @default false */
  redirect?: boolean;
  /** Lifetime of presigned redirect URLs in seconds. @default 1200 */
  redirectExpiresIn?: number;
}

/** {@link BlobStore} on S3. */
export class S3BlobStore implements BlobStore {
  readonly api: S3Api;
  readonly partSize: number;
  private readonly root: string;
  private readonly copyLimit: number;
  private readonly sessions = new Map<string, S3UploadSession>();
  /** Staged runs this process wrote, kept (within a byte budget) so part fills and commits need not GET them. */
  private readonly staged = new Map<string, Uint8Array>();
  private stagedBytes = 0;

  constructor(private readonly options: S3BlobStoreOptions) {
    this.api = new S3Api(options);
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.root = prefix ? `${prefix}/` : '';
    this.partSize = options.partSize ?? 8 * MIB;
    if (this.partSize < MIN_PART_SIZE) throw new Error(`S3 part size must be at least 5 MiB, got ${this.partSize}`);
    this.copyLimit = Math.min(options.copyLimit ?? MAX_COPY_OBJECT, MAX_COPY_OBJECT);
  }

  /** The object key of a blob. */
  blobKey(digest: Digest): string {
    const hex = digestHex(digest);
    return `${this.root}blobs/${digestAlgorithm(digest)}/${hex.slice(0, 2)}/${hex}`;
  }

  /** The key of a session's multipart upload (the staging object once completed). */
  dataKey(id: string): string {
    return `${this.root}uploads/${id}/data`;
  }

  /** The key of a staged byte run of a session. Offsets are zero-padded so listings sort in byte order. */
  pendingKey(id: string, offset: number): string {
    return `${this.root}uploads/${id}/pending/${String(offset).padStart(16, '0')}`;
  }

  private stateKey(id: string): string {
    return `${this.root}uploads/${id}/state.json`;
  }

  /** Checks at start-up that the bucket answers to these credentials (one short listing); throws saying what failed. */
  async checkAccess(): Promise<void> {
    try {
      await this.api.client.list({ prefix: `${this.root}blobs/`, maxKeys: 1 });
    } catch (e) {
      const where = `s3://${this.options.bucket}/${this.root} at ${this.options.endpoint ?? 'AWS'}`;
      throw new Error(`S3 blob store ${where} is not usable: ${(e as Error).message}`);
    }
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    const head = await this.api.head(this.blobKey(digest));
    return head ? { digest, size: head.size } : undefined;
  }

  async open(digest: Digest): Promise<Blob | undefined> {
    const head = await this.api.head(this.blobKey(digest));
    if (!head) return undefined;
    // A sized slice of the S3File: a Blob whose reads (and slices of it) are ranged S3 GETs. A bare S3File has no
    // size until fetched. Bun refuses S3 blobs as Response bodies with headers, so the HTTP layer streams them.
    const body = head.size === 0 ? new Blob([]) : markRemoteBody(this.api.file(this.blobKey(digest)).slice(0, head.size));
    // GC's grace window reads a blob's age from `lastModified`, as it does for files on disk.
    Object.defineProperty(body, 'lastModified', { value: head.lastModified });
    return body;
  }

  async put(digest: Digest, bytes: Uint8Array): Promise<BlobInfo> {
    const actual = digestOf(bytes, digestAlgorithm(digest));
    if (actual !== digest) throw new RegistryError('DIGEST_INVALID', undefined, { detail: { expected: digest, actual } });
    await this.api.put(this.blobKey(digest), bytes);
    return { digest, size: bytes.byteLength };
  }

  /** A presigned GET URL for the blob when redirects are on (the HTTP layer answers 307 with it). */
  redirectUrl(digest: Digest): string | undefined {
    if (!this.options.redirect) return undefined;
    return this.api.presign(this.blobKey(digest), this.options.redirectExpiresIn ?? 1200);
  }

  async startUpload(options: { algorithms?: DigestAlgorithm[] } = {}): Promise<UploadSession> {
    const algorithms = options.algorithms ?? ['sha256'];
    const state = newState(crypto.randomUUID(), algorithms);
    await this.saveState(state);
    const session = new S3UploadSession(this, state, newHasher(algorithms));
    this.sessions.set(state.id, session);
    return session;
  }

  /**
   * Re-opens a session from its `state.json`, read on every call: another process (a worker, a node) may have
   * appended to it, committed or cancelled it since this one last saw it. A live session of this process is kept,
   * with its running hash, only while the stored size is still its own (sessions only grow, and every append is
   * serialised by the upload's lock, so an equal size is the same state); otherwise the hash is gone and the commit
   * hashes the staging object once, from S3 (see s3-uploads.ts).
   */
  async resumeUpload(id: string): Promise<UploadSession | undefined> {
    if (!UPLOAD_ID.test(id)) return undefined;
    const state = await this.loadState(id);
    const live = this.sessions.get(id);
    if (!state) {
      if (live) this.forgetSession(id);
      return undefined;
    }
    if (live && live.size === state.size) return live;
    if (live) this.forgetSession(id);
    const session = new S3UploadSession(this, state, state.size === 0 ? newHasher(state.algorithms) : undefined);
    this.sessions.set(id, session);
    return session;
  }

  /** Drops a session this process holds and its staged bytes kept in memory (another process moved it on). */
  private forgetSession(id: string): void {
    this.sessions.delete(id);
    const mine = `${this.root}uploads/${id}/`;
    for (const [key, bytes] of this.staged) {
      if (!key.startsWith(mine)) continue;
      this.staged.delete(key);
      this.stagedBytes -= bytes.byteLength;
    }
  }

  async delete(digest: Digest): Promise<boolean> {
    const key = this.blobKey(digest);
    // S3 deletes answer the same whether or not the object existed.
    if (!(await this.api.head(key))) return false;
    await this.api.delete(key);
    return true;
  }

  async *list(): AsyncIterable<Digest> {
    const base = `${this.root}blobs/`;
    for await (const { key } of this.api.list(base)) {
      const [algorithm, fan, hex, extra] = key.slice(base.length).split('/');
      if (extra !== undefined || !algorithm || !hex || !isDigestAlgorithm(algorithm) || fan !== hex.slice(0, 2)) continue;
      const digest = tryParseDigest(`${algorithm}:${hex}`);
      if (digest) yield digest;
    }
  }

  /**
   * Removes sessions untouched for `maxAgeMs` that no live session or `isOpen` claims: their objects and their
   * multipart uploads (also those a crash left before their state was written).
   */
  async sweep(maxAgeMs: number, isOpen: (id: string) => boolean): Promise<number> {
    const cutoff = Date.now() - maxAgeMs;
    const base = `${this.root}uploads/`;
    const newest = new Map<string, number>();
    for await (const o of this.api.list(base)) {
      const id = o.key.slice(base.length).split('/')[0]!;
      newest.set(id, Math.max(newest.get(id) ?? 0, o.lastModified));
    }
    const claimed = (id: string) => this.sessions.has(id) || (UPLOAD_ID.test(id) && isOpen(id));
    const removed = new Set<string>();
    for (const [id, touched] of newest) {
      if (touched >= cutoff || claimed(id)) continue;
      const state = UPLOAD_ID.test(id) ? await this.loadState(id) : undefined;
      await this.removeUpload(id, state?.uploadId);
      removed.add(id);
    }
    for (const upload of await this.api.listMultipart(base)) {
      const id = upload.key.slice(base.length).split('/')[0]!;
      if (upload.initiated >= cutoff || claimed(id)) continue;
      await this.api.abortMultipart(upload.key, upload.uploadId);
      removed.add(id);
    }
    return removed.size;
  }

  async close(): Promise<void> {
    this.sessions.clear();
  }

  // --- used by upload sessions ---

  /** Writes a session's state: the point at which an append is acknowledged. */
  async saveState(state: UploadStateRecord): Promise<void> {
    await this.api.put(this.stateKey(state.id), JSON.stringify(state), 'application/json');
  }

  /** Writes a staged run and remembers its bytes while the budget allows. */
  async writeStaged(key: string, bytes: Uint8Array): Promise<void> {
    await this.api.put(key, bytes);
    if (bytes.byteLength > STAGED_CACHE_BYTES) return;
    // Oldest first: runs another process consumed (and this one will never read) must not fill the budget for good.
    for (const [old, kept] of this.staged) {
      if (this.stagedBytes + bytes.byteLength <= STAGED_CACHE_BYTES) break;
      this.staged.delete(old);
      this.stagedBytes -= kept.byteLength;
    }
    this.staged.set(key, bytes);
    this.stagedBytes += bytes.byteLength;
  }

  /** Deletes a staged run (best effort: leftovers go with the session or the sweep). */
  async dropStaged(key: string): Promise<void> {
    const cached = this.staged.get(key);
    if (cached) {
      this.staged.delete(key);
      this.stagedBytes -= cached.byteLength;
    }
    await this.api.delete(key).catch(() => {});
  }

  /** A session's staged bytes, in order. */
  async readPending(state: UploadStateRecord): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const run of state.pending) {
      const key = this.pendingKey(state.id, run.offset);
      const bytes = this.staged.get(key) ?? (await this.api.get(key, run.size + 1));
      if (bytes?.byteLength !== run.size) {
        throw new Error(`S3 upload ${state.id}: staged bytes at ${run.offset} are ${bytes ? `${bytes.byteLength} bytes, expected ${run.size}` : 'missing'}`);
      }
      out.push(bytes);
    }
    return out;
  }

  /** Hashes an object by streaming it (the commit of a session resumed without its running hash). */
  async hashObject(key: string, algorithm: DigestAlgorithm): Promise<Digest> {
    const hasher = new Bun.CryptoHasher(algorithm);
    for await (const chunk of this.api.read(key)) hasher.update(chunk);
    return `${algorithm}:${hasher.digest('hex')}` as Digest;
  }

  /** Copies a verified staging object to its digest key, unless an identical blob is already there. */
  async publishCopy(source: string, digest: Digest, size: number): Promise<BlobInfo> {
    const key = this.blobKey(digest);
    if ((await this.api.head(key))?.size === size) return { digest, size };
    if (size <= this.copyLimit) {
      await this.api.copyObject(source, key);
      return { digest, size };
    }
    // Multipart copy: the object appears under its key only when the completion succeeds.
    const uploadId = await this.api.createMultipart(key);
    try {
      const parts = [];
      for (let first = 0, n = 1; first < size; first += this.copyLimit, n++) {
        const last = Math.min(size, first + this.copyLimit) - 1;
        parts.push({ n, etag: await this.api.copyPart(key, uploadId, n, source, first, last) });
      }
      await this.api.completeMultipart(key, uploadId, parts);
    } catch (e) {
      await this.api.abortMultipart(key, uploadId).catch(() => {});
      throw e;
    }
    return { digest, size };
  }

  /** Forgets a session and removes everything it left in the bucket. */
  async removeUpload(id: string, uploadId: string | undefined): Promise<void> {
    this.sessions.delete(id);
    if (uploadId) await this.api.abortMultipart(this.dataKey(id), uploadId);
    for await (const o of this.api.list(`${this.root}uploads/${id}/`)) {
      if (o.key.includes('/pending/')) await this.dropStaged(o.key);
      else await this.api.delete(o.key);
    }
  }

  /** Removes a finished session by its known keys (no listing on the commit path); the state goes last. */
  async finishUpload(state: UploadStateRecord): Promise<void> {
    this.sessions.delete(state.id);
    for (const run of state.pending) await this.dropStaged(this.pendingKey(state.id, run.offset));
    if (state.uploadId) await this.api.delete(this.dataKey(state.id));
    await this.api.delete(this.stateKey(state.id));
  }

  private async loadState(id: string): Promise<UploadStateRecord | undefined> {
    const bytes = await this.api.get(this.stateKey(id), MAX_STATE_BYTES + 1);
    return bytes ? parseState(bytes, id) : undefined;
  }
}
