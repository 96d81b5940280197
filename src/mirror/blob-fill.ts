/**
 * Single-flight blob fills: the first miss starts ONE upstream fetch into a spool file, hashing as bytes arrive;
 * every reader (the first client and any that join) streams from that growing file. The fill carries on when
 * clients leave, resumes with Range when the upstream connection breaks, and publishes the blob only when the
 * digest matches; on a mismatch readers fail and nothing is stored.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RegistryError } from '../errors.ts';
import { digestAlgorithm, type Digest } from '../oci/digest.ts';
import { MultiHasher } from '../storage/hashing.ts';

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

  constructor(
    readonly digest: Digest,
    readonly spoolFile: string,
    private readonly fetchFrom: FetchFrom,
    private readonly retries: number,
    private readonly publish: (file: string, size: number) => Promise<void>,
    private readonly onBytes: (n: number) => void,
  ) {
    this.started = new Promise((resolve) => (this.markStarted = resolve));
    this.done = this.run().finally(() => {
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
          // The last byte is held back until the digest is verified, so a client never completes a bad blob.
          const available = this.complete ? this.written : Math.min(this.written, last);
          if (position < available) {
            const length = Math.min(256 * 1024, available - position, last - position + 1);
            const buffer = new Uint8Array(length);
            const n = fs.readSync(fd, buffer, 0, length, position);
            position += n;
            controller.enqueue(n === length ? buffer : buffer.subarray(0, n));
            return;
          }
          if (this.error !== undefined) {
            close();
            controller.error(this.error);
            return;
          }
          if (this.complete) continue;
          await new Promise<void>((resolve) => this.waiters.push(resolve));
        }
      },
      cancel: close,
    }, { highWaterMark: 0 });
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
        try {
          const res = await this.fetchFrom(this.written);
          if (this.written > 0 && res.status !== 206) {
            // The upstream ignored Range: start over from the first byte.
            this.written = 0;
            fs.ftruncateSync(fd, 0);
            hasher = new MultiHasher([algorithm]);
          }
          if (this.size === undefined) {
            const length = Number(res.headers.get('content-length'));
            if (res.status === 200 && Number.isFinite(length)) this.size = length;
            const range = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
            if (res.status === 206 && range) this.size = Number(range[1]);
            this.markStarted();
          }
          if (!res.body) throw new Error('upstream sent no body');
          for await (const chunk of res.body) {
            let off = 0;
            while (off < chunk.byteLength) off += fs.writeSync(fd, chunk, off, chunk.byteLength - off, this.written + off);
            hasher.update(chunk);
            this.written += chunk.byteLength;
            this.onBytes(chunk.byteLength);
            this.wake();
          }
          if (this.size !== undefined && this.written < this.size) throw new Error(`upstream closed at ${this.written} of ${this.size} bytes`);
          break;
        } catch (error) {
          // A definitive answer (404, 401, digest problems) is not retried; broken transfers are.
          if (error instanceof RegistryError && error.status < 500 && error.status !== 429) throw error;
          if (++attempts > this.retries) throw error;
        }
      }
      const actual = hasher.digest(algorithm);
      if (actual !== this.digest) {
        throw new RegistryError('DIGEST_INVALID', `upstream sent content for ${this.digest} that hashes to ${actual}; not cached`, { status: 502 });
      }
      if (this.size === undefined) this.size = this.written;
      await this.publish(this.spoolFile, this.written);
      this.complete = true;
    } catch (error) {
      this.error = error;
      fs.rmSync(this.spoolFile, { force: true });
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Fills keyed by digest, so concurrent misses join one upstream fetch. */
export class FillRegistry {
  private readonly fills = new Map<string, BlobFill>();

  /** The fill in progress for this digest, or a new one from `start`. */
  join(digest: Digest, start: () => BlobFill): { fill: BlobFill; joined: boolean } {
    const existing = this.fills.get(digest);
    if (existing) return { fill: existing, joined: true };
    const fill = start();
    this.fills.set(digest, fill);
    void fill.done.then(() => this.fills.delete(digest));
    return { fill, joined: false };
  }

  /** Fills still running. */
  get active(): number {
    return this.fills.size;
  }
}
