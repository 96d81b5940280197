/**
 * Copies a request body into a sink chunk by chunk, enforcing a byte limit without ever holding the whole body, and
 * frees each chunk's memory once written when the body's chunks belong to the reader alone.
 */
import { RegistryError } from '../errors.ts';

// Streams whose chunks nobody else holds: see {@link releasingChunks}.
const releasable = new WeakSet<ReadableStream<Uint8Array>>();

/**
 * Marks `stream` as one whose chunks belong to whoever reads them (a request body read from a socket), so
 * {@link pumpBody} may free each chunk's memory as soon as it is written. Without this, chunks wait for the garbage
 * collector, which runs by JS heap growth and lets chunk buffers pile up: 8 concurrent pushes held 100+ MiB of
 * dead chunks. Never mark a stream whose producer may enqueue a buffer it still uses.
 */
export function releasingChunks<T extends ReadableStream<Uint8Array>>(stream: T): T {
  releasable.add(stream);
  return stream;
}

/** Whether `stream` was marked by {@link releasingChunks}. */
export function releasesChunks(stream: ReadableStream<Uint8Array> | Uint8Array): boolean {
  return !(stream instanceof Uint8Array) && releasable.has(stream);
}

/**
 * Feeds every chunk of `body` to `write`, in order, and returns the number of bytes written. `write` must not keep
 * the chunk after it returns (copy what it keeps): for a body marked by {@link releasingChunks} the chunk's memory
 * is freed right after. With `expected`, throws SIZE_INVALID before writing a chunk that would pass it, or at the
 * end when short.
 */
export async function pumpBody(
  body: ReadableStream<Uint8Array> | Uint8Array,
  expected: number | undefined,
  write: (chunk: Uint8Array) => void,
): Promise<number> {
  const limit = expected ?? Number.MAX_SAFE_INTEGER;
  let total = 0;
  const take = (chunk: Uint8Array) => {
    const n = chunk.byteLength;
    if (total + n > limit) throw mismatch(expected!, 'larger');
    if (n) write(chunk);
    total += n;
  };
  if (body instanceof Uint8Array) take(body);
  else if (!releasable.has(body)) for await (const chunk of body) take(chunk);
  else {
    for await (const chunk of body) {
      take(chunk);
      release(chunk);
    }
  }
  if (expected !== undefined && total !== expected) throw mismatch(expected, 'smaller');
  return total;
}

/**
 * Frees a chunk's buffer now by detaching it (`transfer(0)` drops the old contents at once). Only a chunk that is
 * its whole, plain ArrayBuffer: a view into a larger buffer may share it with chunks still to come.
 */
function release(chunk: Uint8Array): void {
  const buffer = chunk.buffer;
  if (chunk.byteOffset !== 0 || chunk.byteLength !== buffer.byteLength || !(buffer instanceof ArrayBuffer)) return;
  try {
    buffer.transfer(0);
  } catch {
    // A buffer the engine will not detach is left to the collector.
  }
}

function mismatch(expected: number, how: string): RegistryError {
  return new RegistryError('SIZE_INVALID', `body is ${how} than the ${expected} bytes announced`, { detail: { expected } });
}
