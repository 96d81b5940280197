/**
 * Copies a request body into a sink chunk by chunk, enforcing a byte limit without ever holding the whole body.
 */
import { RegistryError } from '../errors.ts';

/**
 * Feeds every chunk of `body` to `write`, in order, and returns the number of bytes written.
 * With `expected`, throws SIZE_INVALID before writing a chunk that would pass it, or at the end when short.
 */
export async function pumpBody(
  body: ReadableStream<Uint8Array> | Uint8Array,
  expected: number | undefined,
  write: (chunk: Uint8Array) => void,
): Promise<number> {
  const limit = expected ?? Number.MAX_SAFE_INTEGER;
  let total = 0;
  const take = (chunk: Uint8Array) => {
    if (total + chunk.byteLength > limit) throw mismatch(expected!, 'larger');
    if (chunk.byteLength) write(chunk);
    total += chunk.byteLength;
  };
  if (body instanceof Uint8Array) take(body);
  else for await (const chunk of body) take(chunk);
  if (expected !== undefined && total !== expected) throw mismatch(expected, 'smaller');
  return total;
}

function mismatch(expected: number, how: string): RegistryError {
  return new RegistryError('SIZE_INVALID', `body is ${how} than the ${expected} bytes announced`, { detail: { expected } });
}
