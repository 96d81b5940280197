/**
 * Deterministic blob content that is cheap to produce and cheap to digest.
 *
 * Every blob of a given size shares the same bytes except its last 64, which come from the blob's seed. A blob's
 * SHA-256 is therefore the cached hash state of the shared prefix plus 64 bytes: eight distinct 1 GiB blobs cost
 * one 1 GiB hash to describe, not eight. Registries see ordinary, incompressible, distinct blobs.
 */
import * as fs from 'node:fs';

/** The pattern repeats every BLOCK bytes; each block starts with its index so blocks differ from one another. */
export const BLOCK = 1024 * 1024;
/** Length of the per-blob unique tail. */
export const TAIL = 64;
/** Smallest blob this scheme describes. */
export const MIN_SIZE = 2 * TAIL;

const base = makeBase();
const prefixStates = new Map<number, Bun.CryptoHasher>();

/** One blob's content: `seed` makes it unique among blobs of the same `size`. */
export class Content {
  private readonly tail: Uint8Array;

  constructor(
    readonly seed: string,
    readonly size: number,
  ) {
    if (!Number.isSafeInteger(size) || size < MIN_SIZE) throw new Error(`content size must be at least ${MIN_SIZE} bytes`);
    const h = new Bun.CryptoHasher('sha256');
    h.update(`${seed}\0${size}`);
    const d = h.digest();
    this.tail = new Uint8Array(TAIL);
    this.tail.set(d, 0);
    this.tail.set(d, 32);
  }

  /** Fills `out` with the bytes at [offset, offset + out.length). */
  fill(out: Uint8Array, offset: number): Uint8Array {
    if (offset < 0 || offset + out.length > this.size) throw new RangeError('fill outside the blob');
    fillPattern(out, offset, this.size);
    const tailStart = this.size - TAIL;
    const from = Math.max(offset, tailStart);
    const to = offset + out.length;
    if (from < to) out.set(this.tail.subarray(from - tailStart, to - tailStart), from - offset);
    return out;
  }

  /** `sha256:<hex>` of the whole blob. The prefix hash is computed once per size and cached. */
  digest(): string {
    const h = prefixState(this.size).copy();
    h.update(this.tail);
    return `sha256:${h.digest('hex')}`;
  }

  /** The whole blob in memory (small blobs only). */
  bytes(): Uint8Array {
    if (this.size > 64 * BLOCK) throw new Error('bytes() is for small blobs; stream large ones with fill()');
    return this.fill(new Uint8Array(this.size), 0);
  }

  /** Writes the blob to `file` in 8 MiB writes. */
  writeFile(file: string): void {
    const buf = new Uint8Array(Math.min(8 * BLOCK, this.size));
    const fd = fs.openSync(file, 'w');
    try {
      for (let at = 0; at < this.size; at += buf.length) {
        const part = buf.subarray(0, Math.min(buf.length, this.size - at));
        this.fill(part, at);
        let off = 0;
        while (off < part.length) off += fs.writeSync(fd, part, off, part.length - off);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Hash state of the shared bytes [0, size − TAIL) of every blob of `size`. */
function prefixState(size: number): Bun.CryptoHasher {
  let state = prefixStates.get(size);
  if (!state) {
    state = new Bun.CryptoHasher('sha256');
    const prefix = size - TAIL;
    const buf = new Uint8Array(Math.min(8 * BLOCK, prefix));
    for (let at = 0; at < prefix; at += buf.length) {
      const part = buf.subarray(0, Math.min(buf.length, prefix - at));
      fillPattern(part, at, size);
      state.update(part);
    }
    prefixStates.set(size, state);
  }
  return state;
}

/** The shared pattern: `base` repeated, each block stamped with its index and the blob size. */
function fillPattern(out: Uint8Array, offset: number, size: number): void {
  let o = 0;
  while (o < out.length) {
    const pos = offset + o;
    const block = Math.floor(pos / BLOCK);
    const inBlock = pos - block * BLOCK;
    const n = Math.min(BLOCK - inBlock, out.length - o);
    out.set(base.subarray(inBlock, inBlock + n), o);
    if (inBlock < 8) {
      const stamp = new Uint8Array(8);
      const view = new DataView(stamp.buffer);
      view.setUint32(0, block);
      view.setUint32(4, size % 2 ** 32);
      out.set(stamp.subarray(inBlock, Math.min(8, inBlock + n)), o);
    }
    o += n;
  }
}

/** One block of pseudo-random bytes from a fixed-seed xorshift generator (same bytes in every process). */
function makeBase(): Uint8Array {
  const words = new Uint32Array(BLOCK / 4);
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer);
}
