/**
 * How blobs and manifests go on the wire, shared by local and mirrored reads: exact Content-Length on GET and
 * HEAD, Docker-Content-Digest, and single byte ranges.
 */
import { RegistryError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import { parseRangeHeader, type ByteRange } from '../oci/range.ts';
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

/** The inclusive range of a Blob as a Blob (sendfile-able for files). */
export function sliceBlob(body: Blob): (range: ByteRange | undefined) => Blob {
  return (range) => (range ? body.slice(range.start, range.end + 1) : body);
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
