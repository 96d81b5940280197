/**
 * How blobs and manifests go on the wire, shared by local and mirrored reads: exact Content-Length on GET and
 * HEAD, Docker-Content-Digest, and single byte ranges.
 */
import { RegistryError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import { parseRangeHeader, type ByteRange } from '../oci/range.ts';
import { isRemoteBody, remoteStream } from '../storage/remote-body.ts';
import type { ManifestRecord } from '../storage/types.ts';
import { API_VERSION_HEADER, httpDate } from './responses.ts';

/** Response headers as a plain object: cheaper than `Headers` on the hot read paths, converted once by Response. */
export type HeaderRecord = Record<string, string>;

/** Headers of a blob response, before length and range. */
export function blobHeaders(digest: Digest): HeaderRecord {
  return {
    [API_VERSION_HEADER[0]]: API_VERSION_HEADER[1],
    Date: httpDate(),
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    'Accept-Ranges': 'bytes',
    ETag: `"${digest}"`,
    // Bun adds `Content-Disposition: filename="<file on disk>"` to file bodies unless one is set; ours names nothing.
    'Content-Disposition': 'attachment',
  };
}

/** Longest If-None-Match value read; a longer one is ignored (the full response is sent). */
export const MAX_IF_NONE_MATCH_LENGTH = 4096;

/**
 * True when a request's `If-None-Match` names `etag` (or is `*`), compared weakly as RFC 9110 §13.1.2 asks for
 * GET and HEAD. Manifests and blobs are content-addressed, so their digest is a perfect validator.
 */
export function ifNoneMatchHits(header: string | null, etag: string): boolean {
  if (!header || header.length > MAX_IF_NONE_MATCH_LENGTH) return false;
  for (const part of header.split(',')) {
    const tag = part.trim();
    if (tag === '*' || tag === etag || (tag.startsWith('W/') && tag.slice(2) === etag)) return true;
  }
  return false;
}

/**
 * Turns a successful GET/HEAD whose ETag the client already holds into a 304 without a body (RFC 9110 §15.4.5:
 * with the ETag and the headers a 200 would carry, minus content headers). Any other response passes unchanged.
 */
export function conditionalResponse(request: Request, response: Response): Response {
  if (response.status !== 200 && response.status !== 206) return response;
  const method = request.method;
  if (method !== 'GET' && method !== 'HEAD') return response;
  const condition = request.headers.get('if-none-match');
  if (condition === null) return response;
  const etag = response.headers.get('etag');
  if (etag === null || !ifNoneMatchHits(condition, etag)) return response;
  // Release the body (a file or a stream branch) that will not be sent.
  void response.body?.cancel().catch(() => {});
  const headers = new Headers();
  for (const name of [API_VERSION_HEADER[0], 'Date', 'ETag', 'Docker-Content-Digest', 'Cache-Status', 'Warning']) {
    const value = response.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Response(null, { status: 304, headers });
}

/** A body-less 200 (HEAD) carrying the Content-Length a GET would send. */
export function headResponse(headers: HeaderRecord, size: number): Response {
  headers['Content-Length'] = String(size);
  return new Response(null, { status: 200, headers });
}

/**
 * A blob response honouring the Range header. `slice` yields the bytes of an inclusive range (a Blob slice for
 * stored blobs, so files still go out with sendfile; a stream for blobs still being filled).
 */
export function blobResponse(
  headers: HeaderRecord,
  size: number,
  rangeHeader: string | null,
  slice: (range: ByteRange | undefined) => Blob | ReadableStream<Uint8Array>,
): Response {
  const range = parseRangeHeader(rangeHeader, size);
  if (range.kind === 'unsatisfiable') {
    // The spec has no code for an unsatisfiable read range; SIZE_INVALID is the nearest, with the HTTP 416.
    throw new RegistryError('SIZE_INVALID', 'requested range not satisfiable', {
      status: 416,
      headers: { 'Content-Range': `bytes */${size}` },
      detail: { size },
    });
  }
  if (range.kind === 'partial') {
    const { start, end } = range.range;
    headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    headers['Content-Length'] = String(end - start + 1);
    return new Response(slice(range.range), { status: 206, headers });
  }
  headers['Content-Length'] = String(size);
  return new Response(slice(undefined), { status: 200, headers });
}

/** The inclusive range of a Blob as a Blob (sendfile-able for files), or as a stream for a remote store's blob. */
export function sliceBlob(body: Blob): (range: ByteRange | undefined) => Blob | ReadableStream<Uint8Array> {
  const remote = isRemoteBody(body);
  return (range) => {
    const part = range ? body.slice(range.start, range.end + 1) : body;
    return remote ? remoteStream(part) : part;
  };
}

/**
 * A manifest response: the stored bytes with their media type; empty body on HEAD. `extra` adds headers (the
 * mirror's Cache-Status). Headers are built as one object literal: this is the hottest response of a registry.
 */
export function manifestResponse(record: ManifestRecord, head: boolean, extra?: HeaderRecord): Response {
  const headers: HeaderRecord = {
    [API_VERSION_HEADER[0]]: API_VERSION_HEADER[1],
    Date: httpDate(),
    'Content-Type': record.mediaType,
    'Content-Length': String(record.size),
    'Docker-Content-Digest': record.digest,
    ETag: `"${record.digest}"`,
  };
  if (extra) Object.assign(headers, extra);
  return new Response(head ? null : record.body, { status: 200, headers });
}
