/**
 * Upload sessions of the S3 blob store, as S3 multipart uploads.
 *
 * Layout under `<prefix>/uploads/<id>/`: `state.json` (the session: size, multipart upload id, finished parts,
 * staged bytes), `pending/<offset>` (bytes not yet filling a part) and `data` (the multipart upload's key).
 *
 * - S3 wants parts of at least 5 MiB (but the last). Bytes that do not fill a part are staged as small objects in
 *   the bucket, not in a local spool: an acknowledged PATCH must survive the loss of this node, and any node can
 *   continue the session. When staged bytes plus new ones fill a part, the staged objects are read back once and
 *   uploaded with the new bytes as one part.
 * - An append is durable when `state.json` is written; a failed append leaves the previous state untouched (parts it
 *   uploaded under unrecorded numbers are overwritten later, a multipart upload it created is aborted).
 * - The running hash lives in this process. After a restart (or on a node that did not see the earlier appends) it
 *   is gone: parts of an unfinished multipart upload cannot be read back, so the session carries on without hashing
 *   and the commit hashes the completed staging object once, from S3.
 */
import { RegistryError } from '../errors.ts';
import { digestAlgorithm, type Digest, type DigestAlgorithm } from '../oci/digest.ts';
import { MultiHasher } from './hashing.ts';
import type { BlobInfo, UploadSession } from './types.ts';
import type { S3BlobStore } from './s3-blob-store.ts';

/** S3's limit on the parts of one multipart upload. */
const MAX_PARTS = 10_000;

/** Parts of one append uploading at once. */
const PARTS_IN_FLIGHT = 3;

/** What `state.json` holds. */
export interface UploadStateRecord {
  v: 1;
  id: string;
  createdAt: number;
  algorithms: DigestAlgorithm[];
  /** Bytes received (parts + pending). */
  size: number;
  /** The multipart upload of `data`, created when the first part fills. */
  uploadId?: string;
  parts: { n: number; etag: string; size: number }[];
  /** Staged byte runs, in order; each is the object `pending/<offset>`. */
  pending: { offset: number; size: number }[];
}

/** Largest `state.json` read back (10 000 parts of ~80 bytes each fit well within it). */
export const MAX_STATE_BYTES = 4 << 20;

/** Reads a state record, refusing anything that is not one (the bucket is not trusted to hold only our objects). */
export function parseState(bytes: Uint8Array, id: string): UploadStateRecord | undefined {
  if (bytes.byteLength > MAX_STATE_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
  const s = value as UploadStateRecord;
  const ok =
    typeof s === 'object' && s !== null && s.v === 1 && s.id === id && Number.isSafeInteger(s.size) && s.size >= 0 &&
    Array.isArray(s.algorithms) && s.algorithms.every((a) => a === 'sha256' || a === 'sha512') &&
    Array.isArray(s.parts) && s.parts.every((p) => Number.isSafeInteger(p?.n) && typeof p.etag === 'string' && Number.isSafeInteger(p.size)) &&
    Array.isArray(s.pending) && s.pending.every((p) => Number.isSafeInteger(p?.offset) && Number.isSafeInteger(p.size)) &&
    (s.uploadId === undefined || typeof s.uploadId === 'string');
  return ok ? s : undefined;
}

/** One upload. Appends are serialised by the caller (the upload's lock). */
export class S3UploadSession implements UploadSession {
  private finished = false;

  constructor(
    private readonly store: S3BlobStore,
    private state: UploadStateRecord,
    /** Undefined when the session was resumed without its hash state (see the file comment). */
    private hasher: MultiHasher | undefined,
  ) {}

  get id(): string {
    return this.state.id;
  }

  get size(): number {
    return this.state.size;
  }

  async append(body: ReadableStream<Uint8Array> | Uint8Array, expectedLength?: number): Promise<number> {
    this.assertOpen();
    const store = this.store;
    const saved = this.hasher?.snapshot();
    const next: UploadStateRecord = { ...this.state, parts: [...this.state.parts], pending: [...this.state.pending] };
    const consumed: UploadStateRecord['pending'] = [];
    let staged: string | undefined;
    let carry: Uint8Array[] = [];
    let carrySize = 0;
    let pendingSize = sum(next.pending);
    // Parts upload while the body keeps arriving, a few at a time (memory: PARTS_IN_FLIGHT parts per append).
    const inflight: Promise<void>[] = [];
    try {
      const received = await pumpAsync(body, expectedLength, async (chunk) => {
        this.hasher?.update(chunk);
        carry.push(chunk);
        carrySize += chunk.byteLength;
        while (pendingSize + carrySize >= store.partSize) {
          const take = store.partSize - pendingSize;
          const [head, rest] = splitAt(carry, take);
          const part = Buffer.concat([...(await store.readPending(next)), ...head]);
          if (inflight.length >= PARTS_IN_FLIGHT) await inflight.shift();
          inflight.push((await this.startPart(next, part)).done);
          consumed.push(...next.pending);
          next.pending = [];
          pendingSize = 0;
          carry = rest;
          carrySize -= take;
        }
      });
      while (inflight.length) await inflight.shift();
      next.size += received;
      if (carrySize > 0) {
        const offset = next.size - carrySize;
        staged = store.pendingKey(next.id, offset);
        await store.writeStaged(staged, Buffer.concat(carry));
        next.pending.push({ offset, size: carrySize });
      }
      await store.saveState(next);
    } catch (e) {
      await Promise.allSettled(inflight);
      if (saved) this.hasher = saved;
      // Undo what the old state does not know about; leftovers are removed by cancel or the sweep anyway.
      if (staged) await store.dropStaged(staged);
      if (next.uploadId && next.uploadId !== this.state.uploadId) await store.api.abortMultipart(store.dataKey(next.id), next.uploadId).catch(() => {});
      throw e;
    }
    this.state = next;
    for (const p of consumed) await store.dropStaged(store.pendingKey(next.id, p.offset));
    return next.size;
  }

  async commit(expected: Digest): Promise<BlobInfo> {
    this.assertOpen();
    const store = this.store;
    const state = this.state;
    const algorithm = digestAlgorithm(expected);
    const known = this.hasher?.digest(algorithm);
    // With the running hash a mismatch is known before anything is completed: the session stays as it was.
    if (known !== undefined && known !== expected) throw mismatch(expected, known);

    if (!state.uploadId) {
      // Less than one part: the bytes are all staged. put() verifies them before the digest key exists.
      const info = await store.put(expected, Buffer.concat(await store.readPending(state)));
      await this.finish();
      return info;
    }

    const data = store.dataKey(state.id);
    const parts = [...state.parts];
    if (state.pending.length) {
      const last = Buffer.concat(await store.readPending(state));
      parts.push({ n: parts.length + 1, etag: await store.api.uploadPart(data, state.uploadId, parts.length + 1, last), size: last.byteLength });
    }
    try {
      await store.api.completeMultipart(data, state.uploadId, parts);
    } catch (e) {
      // A commit retried after a completion whose answer was lost: the staging object is already whole.
      if ((await store.api.head(data))?.size !== state.size) throw e;
    }
    const staged = await store.api.head(data);
    if (staged?.size !== state.size) {
      throw new Error(`S3 upload ${state.id}: staging object holds ${staged?.size ?? 'nothing'} bytes, expected ${state.size}`);
    }
    const actual = known ?? (await store.hashObject(data, algorithm));
    if (actual !== expected) {
      await this.finish();
      throw mismatch(expected, actual);
    }
    const info = await store.publishCopy(data, expected, state.size);
    await this.finish();
    return info;
  }

  async cancel(): Promise<void> {
    this.finished = true;
    await this.store.removeUpload(this.state.id, this.state.uploadId);
  }

  /**
   * Starts uploading the next part (creating the multipart upload on the first one); `done` settles with it.
   * The part's number is taken now, so parts finishing out of order still land in their places.
   */
  private async startPart(state: UploadStateRecord, bytes: Uint8Array): Promise<{ done: Promise<void> }> {
    const key = this.store.dataKey(state.id);
    state.uploadId ??= await this.store.api.createMultipart(key);
    const uploadId = state.uploadId;
    const n = state.parts.length + 1;
    // The last part goes up at commit, so appends may fill at most MAX_PARTS - 1.
    if (n >= MAX_PARTS) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `upload exceeds what S3 accepts: ${MAX_PARTS} parts of ${this.store.partSize} bytes`, { detail: { size: state.size } });
    }
    const entry = { n, etag: '', size: bytes.byteLength };
    state.parts.push(entry);
    const done = this.store.api.uploadPart(key, uploadId, n, bytes).then((etag) => void (entry.etag = etag));
    // Observed by the caller in order; a failure here must not also surface as an unhandled rejection.
    done.catch(() => {});
    return { done };
  }

  /** Ends the session: its objects go (the multipart upload is complete or never existed). */
  private async finish(): Promise<void> {
    this.finished = true;
    await this.store.finishUpload(this.state);
  }

  private assertOpen(): void {
    if (this.finished) throw new RegistryError('BLOB_UPLOAD_UNKNOWN');
  }
}

/** A fresh session's state. */
export function newState(id: string, algorithms: DigestAlgorithm[]): UploadStateRecord {
  return { v: 1, id, createdAt: Date.now(), algorithms, size: 0, parts: [], pending: [] };
}

/** A fresh hasher for a new session. */
export function newHasher(algorithms: DigestAlgorithm[]): MultiHasher {
  return new MultiHasher(algorithms);
}

/**
 * Feeds every chunk of `body` to an async `write`, one at a time (so a slow S3 slows the client instead of filling
 * memory). With `expected`, SIZE_INVALID before a chunk that would pass it, or at the end when short.
 */
async function pumpAsync(
  body: ReadableStream<Uint8Array> | Uint8Array,
  expected: number | undefined,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<number> {
  const limit = expected ?? Number.MAX_SAFE_INTEGER;
  let total = 0;
  const take = async (chunk: Uint8Array) => {
    if (total + chunk.byteLength > limit) throw sizeMismatch(expected!, 'larger');
    // Request body chunks may be views into a buffer the reader reuses: keep a copy.
    if (chunk.byteLength) await write(chunk.slice());
    total += chunk.byteLength;
  };
  if (body instanceof Uint8Array) await take(body);
  else for await (const chunk of body) await take(chunk);
  if (expected !== undefined && total !== expected) throw sizeMismatch(expected, 'smaller');
  return total;
}

function sizeMismatch(expected: number, how: string): RegistryError {
  return new RegistryError('SIZE_INVALID', `body is ${how} than the ${expected} bytes announced`, { detail: { expected } });
}

function mismatch(expected: Digest, actual: Digest): RegistryError {
  return new RegistryError('DIGEST_INVALID', undefined, { detail: { expected, actual } });
}

/** Splits chunks into the first `n` bytes and the rest. */
function splitAt(chunks: Uint8Array[], n: number): [Uint8Array[], Uint8Array[]] {
  const head: Uint8Array[] = [];
  const rest: Uint8Array[] = [];
  let left = n;
  for (const c of chunks) {
    if (left >= c.byteLength) {
      head.push(c);
      left -= c.byteLength;
    } else if (left > 0) {
      head.push(c.subarray(0, left));
      rest.push(c.subarray(left));
      left = 0;
    } else rest.push(c);
  }
  return [head, rest];
}

function sum(runs: { size: number }[]): number {
  return runs.reduce((n, r) => n + r.size, 0);
}
