/**
 * Single-flight blob fills: the first miss starts ONE upstream fetch into a spool file, hashing as bytes arrive;
 * every reader (the first client and any that join) streams from that growing file. The fill carries on when
 * clients leave, resumes with Range when the upstream connection breaks, and publishes the blob only when the
 * digest matches; on a mismatch readers fail and nothing is stored.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crashPoint } from '../crash-points.ts';
import { RegistryError, storageFailure } from '../errors.ts';
import { UpstreamRefusal } from './bounded-body.ts';
import { digestAlgorithm, type Digest } from '../oci/digest.ts';
import { MultiHasher } from '../storage/hashing.ts';

/** Readers wait for at least this many new bytes while a fill is running… */
const READ_BATCH = 256 * 1024;
/** …and read at most this much at a time. */
const READ_MAX = 1024 * 1024;

/** Where a fill's bytes come from: a response starting at `offset` (a 206 for offset > 0). */
export type FetchFrom = (offset: number) => Promise<Response>;

/** A fill in progress or finished. */
export class BlobFill {
  /** Bytes written to the spool so far. */
  written = 0;
  /** Total size once known (from the upstream's Content-Length). */
  size: number | undefined;
  /** Set when the fill failed; readers rethrow it. */
  error: unknown;
  /** True once the blob is verified (and handed to `publish`). */
  complete = false;
  /** Resolves once the size is known or the fill failed, so a response can carry Content-Length. */
  readonly started: Promise<void>;
  /** Resolves when the fill has ended, either way. */
  readonly done: Promise<void>;
  private waiters: (() => void)[] = [];
  private markStarted!: () => void;
  private aborted: unknown;
  private stopBody: ((reason: unknown) => void) | undefined;

  /**
   * @param idleTimeoutMs a body that sends nothing for this long counts as broken (and is resumed or fails)
   * @param limits `sizeOf` asks the upstream for the size when a response announces none (an endless chunked body
   *   is then cut off there); `maxBytes` refuses larger blobs outright
   */
  constructor(
    readonly digest: Digest,
    readonly spoolFile: string,
    private readonly fetchFrom: FetchFrom,
    private readonly retries: number,
    private readonly publish: (file: string, size: number) => Promise<void>,
    private readonly onBytes: (n: number) => void,
    private readonly idleTimeoutMs = 30_000,
    private readonly limits: { sizeOf?: () => Promise<number | undefined>; maxBytes?: number } = {},
  ) {
    this.started = new Promise((resolve) => (this.markStarted = resolve));
    this.done = this.run()
      // Only the spool itself failing (no space, no permission) gets here; the fill fails like any other.
      .catch((error: unknown) => void (this.error ??= error))
      .finally(() => {
        this.markStarted();
        this.wake();
      });
  }

  /** A stream of the blob's bytes [start, end] read from the spool as they arrive. */
  reader(start = 0, end?: number): ReadableStream<Uint8Array> {
    const fd = fs.openSync(this.spoolFile, 'r');
    let position = start;
    let closed = false;
    const close = () => {
      if (!closed) fs.closeSync(fd);
      closed = true;
    };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const last = end ?? (this.size ?? Number.MAX_SAFE_INTEGER) - 1;
        for (;;) {
          if (position > last || (this.complete && position >= this.written)) {
            close();
            controller.close();
            return;
          }
          // The blob's last byte is held back until the digest is verified, so a client never completes a bad blob.
          // A range that ends before it is answered as soon as its bytes are on disk: a client reading a range
          // cannot check a digest anyway, and a fill that fails cuts off whatever is still being read.
          const held = (this.size ?? Number.MAX_SAFE_INTEGER) - 1;
          const available = this.complete ? this.written : Math.min(this.written, held, last + 1);
          // While more bytes are on their way, wait for a worthwhile piece: many readers sending every small
          // upstream chunk on their own would spend the event loop on tiny writes.
          const coming = !this.complete && this.error === undefined && this.written < Math.min(last + 1, this.size ?? Number.MAX_SAFE_INTEGER);
          if (position < available && !(coming && available - position < READ_BATCH)) {
            const length = Math.min(READ_MAX, available - position, last - position + 1);
            const buffer = new Uint8Array(length);
            const n = fs.readSync(fd, buffer, 0, length, position);
            position += n;
            controller.enqueue(n === length ? buffer : buffer.subarray(0, n));
            return;
          }
          if (this.error !== undefined) {
            close();
            // Erroring with a reason makes Bun.serve print it to stderr, outside the logger (the mirror logs the
            // failed fill once); without one, Bun just resets the connection, which is all the client must see.
            controller.error(undefined);
            return;
          }
          if (this.complete) continue;
          await new Promise<void>((resolve) => this.waiters.push(resolve));
        }
      },
      cancel: close,
    }, { highWaterMark: 0 });
  }

  /** Stops the fill: readers fail with `reason`, nothing is stored. Resolves when the fill has ended. */
  abort(reason: unknown): Promise<void> {
    if (!this.complete && this.error === undefined && this.aborted === undefined) {
      this.aborted = reason;
      this.stopBody?.(reason);
    }
    return this.done;
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  private async run(): Promise<void> {
    const algorithm = digestAlgorithm(this.digest);
    let hasher = new MultiHasher([algorithm]);
    fs.mkdirSync(path.dirname(this.spoolFile), { recursive: true });
    const fd = fs.openSync(this.spoolFile, 'w');
    let attempts = 0;
    try {
      for (;;) {
        let answered = false;
        try {
          if (this.aborted !== undefined) throw this.aborted;
          const offset = this.written;
          const res = await this.fetchFrom(offset);
          answered = true;
          if (offset > 0 && res.status !== 206) {
            // The upstream ignored Range: start over from the first byte.
            this.written = 0;
            fs.ftruncateSync(fd, 0);
            hasher = new MultiHasher([algorithm]);
          }
          if (res.status === 206) {
            const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
            if (!range || Number(range[1]) !== offset) {
              await res.body?.cancel();
              throw new Error(`upstream answered Range ${offset}- with Content-Range ${res.headers.get('content-range')}`);
            }
            if (this.size === undefined && range[2] !== '*') this.size = Number(range[2]);
          } else if (this.size === undefined) {
            const length = res.headers.get('content-length');
            if (length !== null && /^\d+$/.test(length)) this.size = Number(length);
          }
          // A body without a length (chunked) is held to the size the upstream gives on HEAD: endless is not a size.
          if (this.size === undefined) this.size = await this.limits.sizeOf?.();
          if (this.size === undefined) {
            await res.body?.cancel().catch(() => undefined);
            throw new UpstreamRefusal(`upstream sent ${this.digest} without announcing its size`, false);
          }
          if (this.limits.maxBytes !== undefined && this.size > this.limits.maxBytes) {
            await res.body?.cancel().catch(() => undefined);
            throw new UpstreamRefusal(`upstream announced ${this.size} bytes for ${this.digest}, more than ${this.limits.maxBytes}`, false);
          }
          if (this.size - this.written > freeBytes(path.dirname(this.spoolFile))) {
            // Known before a byte is sent: the client gets a clear 507 instead of a body cut off at the disk's end.
            await res.body?.cancel().catch(() => undefined);
            throw Object.assign(new Error(`ENOSPC: no space for the ${this.size} bytes of ${this.digest} in the spool`), { code: 'ENOSPC' });
          }
          this.markStarted();
          if (!res.body) throw new Error('upstream sent no body');
          const size = this.size;
          await this.drain(res.body, (chunk) => {
            if (this.written + chunk.byteLength > size) throw new UpstreamRefusal(`upstream sent more than the ${size} bytes of ${this.digest}`, false);
            let off = 0;
            while (off < chunk.byteLength) off += fs.writeSync(fd, chunk, off, chunk.byteLength - off, this.written + off);
            hasher.update(chunk);
            this.written += chunk.byteLength;
            this.onBytes(chunk.byteLength);
            this.wake();
          });
          if (this.size !== undefined && this.written !== this.size) throw new Error(`upstream closed at ${this.written} of ${this.size} bytes`);
          break;
        } catch (error) {
          if (this.aborted !== undefined) throw this.aborted;
          // A definitive answer (404, 401, 429, digest problems) is not retried, and neither is an upstream that
          // cannot be reached at all (fail fast); a transfer that broke is resumed from where it stopped.
          if (error instanceof RegistryError && error.status < 500) throw error;
          if (error instanceof UpstreamRefusal && !error.retryable) throw error;
          // The spool's own disk failing (full) is no transfer to resume.
          if (storageFailure(error)) throw error;
          if (!answered && this.written === 0) throw error;
          if (++attempts > this.retries) throw error;
        }
      }
      if (this.aborted !== undefined) throw this.aborted;
      const actual = hasher.digest(algorithm);
      if (actual !== this.digest) {
        throw new RegistryError('DIGEST_INVALID', `upstream sent content for ${this.digest} that hashes to ${actual}; not cached`, { status: 502 });
      }
      if (this.size === undefined) this.size = this.written;
      crashPoint('mirror-fill-before-publish');
      await this.publish(this.spoolFile, this.written);
      this.complete = true;
    } catch (error) {
      this.error = error;
      fs.rmSync(this.spoolFile, { force: true });
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Reads a body chunk by chunk; a body silent for `idleTimeoutMs` (or an abort) cancels it and throws. */
  private async drain(body: ReadableStream<Uint8Array>, onChunk: (chunk: Uint8Array) => void): Promise<void> {
    const reader = body.getReader();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let fail!: (reason: unknown) => void;
    const stopped = new Promise<never>((_, reject) => (fail = reject));
    stopped.catch(() => undefined);
    const stop = (reason: unknown) => {
      fail(reason);
      reader.cancel(reason).catch(() => undefined);
    };
    this.stopBody = stop;
    if (this.aborted !== undefined) stop(this.aborted);
    try {
      for (;;) {
        timer = setTimeout(() => stop(new Error(`upstream sent nothing for ${this.idleTimeoutMs} ms`)), this.idleTimeoutMs);
        const { done, value } = await Promise.race([reader.read(), stopped]);
        clearTimeout(timer);
        if (done) return;
        try {
          onChunk(value);
        } catch (error) {
          reader.cancel(error).catch(() => undefined);
          throw error;
        }
      }
    } finally {
      clearTimeout(timer);
      this.stopBody = undefined;
      try {
        reader.releaseLock();
      } catch {
        // A read still pending after a cancel; the stream is done with either way.
      }
    }
  }
}

/** Bytes free for this process in the file system holding `dir` (unbounded when it cannot tell). */
function freeBytes(dir: string): number {
  try {
    const stat = fs.statfsSync(dir);
    return stat.bavail * stat.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * Fills keyed by digest, so concurrent misses join one upstream fetch. A fill belongs to the repository whose
 * upstream serves it: a request for another repository may join only once its own upstream vouched for the digest,
 * or one upstream's bytes would answer for another (CVE-2026-35172).
 */
export class FillRegistry {
  private readonly fills = new Map<string, { fill: BlobFill; repository: string }>();

  /** The repository a live fill of `digest` is for, if one is running. */
  owner(digest: Digest): string | undefined {
    const entry = this.fills.get(digest);
    // A failed fill is only waiting to be forgotten.
    return entry && entry.fill.error === undefined ? entry.repository : undefined;
  }

  /**
   * The live fill of `digest` when it is for `repository` or the caller's upstream vouched for the digest, else a
   * new fill for `repository` from `start`.
   * @throws Error when another repository's fill is running and nothing vouched (the caller must confirm first)
   */
  join(digest: Digest, repository: string, vouched: boolean, start: () => BlobFill): { fill: BlobFill; joined: boolean } {
    const existing = this.fills.get(digest);
    if (existing && existing.fill.error === undefined) {
      if (existing.repository !== repository && !vouched) throw new Error(`unconfirmed join of ${digest} from ${repository}`);
      return { fill: existing.fill, joined: true };
    }
    const fill = start();
    this.fills.set(digest, { fill, repository });
    void fill.done.then(() => {
      if (this.fills.get(digest)?.fill === fill) this.fills.delete(digest);
    });
    return { fill, joined: false };
  }

  /** Aborts every running fill and waits for them to end. */
  async abortAll(reason: unknown): Promise<void> {
    await Promise.all([...this.fills.values()].map(({ fill }) => fill.abort(reason)));
  }

  /** Fills still running. */
  get active(): number {
    return this.fills.size;
  }
}
