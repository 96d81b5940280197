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
 * The bytes of (a slice of) a remote body as a response stream. Bun 1.4.5 sends stream bodies chunked and drops the
 * Content-Length header (oven-sh/bun#10507) unless the whole body is there at the first read; through a JS
 * TransformStream small blobs keep it (Bun's native S3 stream never does). HEAD always carries the length; with
 * redirects on, the object store sends it.
 */
export function remoteStream(part: Blob): ReadableStream<Uint8Array> {
  return part.stream().pipeThrough(new TransformStream<Uint8Array, Uint8Array>());
}
