/**
 * Blobs read from a remote store (slices of a Bun `S3File`) are Blobs to every reader, but Bun refuses them as a
 * `new Response(blob, init)` body (it wants to turn a bare S3File into a redirect). Stores mark such bodies here and
 * the HTTP layer sends them as streams.
 */
const remote = new WeakSet<Blob>();

/** Marks a body whose bytes must be streamed into responses. */
export function markRemoteBody<T extends Blob>(body: T): T {
  remote.add(body);
  return body;
}

/** True for a body marked by {@link markRemoteBody}. */
export function isRemoteBody(body: Blob): boolean {
  return remote.has(body);
}

/**
 * Remote bodies up to this size are read into memory before the response starts, so it carries an exact
 * Content-Length (clients and the conformance suite check it on blob GETs); memory per such request is bounded by it.
 */
export const BUFFERED_REMOTE_BYTES = 1024 * 1024;

/**
 * A remote body small enough to buffer, as an in-memory Blob (one GET; its slices serve ranges from memory); any
 * other body unchanged. Bun 1.4.5 sends every stream body chunked and drops its Content-Length (oven-sh/bun#10507),
 * so only buffered bodies go out with one; larger S3 blobs are sent chunked (HEAD always carries the length, and
 * with `--s3-redirect` the object store sends it).
 */
export async function bufferSmallRemote(body: Blob, size: number): Promise<Blob> {
  if (!remote.has(body) || size > BUFFERED_REMOTE_BYTES) return body;
  return new Blob([await body.arrayBuffer()]);
}

/** The bytes of (a slice of) a remote body as a response stream (sent chunked, see {@link bufferSmallRemote}). */
export function remoteStream(part: Blob): ReadableStream<Uint8Array> {
  return part.stream().pipeThrough(new TransformStream<Uint8Array, Uint8Array>());
}
