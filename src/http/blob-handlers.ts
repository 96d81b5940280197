/** GET, HEAD and DELETE of blobs. */
import { deleteBlob, openBlob, statBlob } from '../core/blobs.ts';
import { parseDigest } from '../oci/digest.ts';
import { parseRangeHeader } from '../oci/range.ts';
import { RegistryError } from '../errors.ts';
import type { Route } from './paths.ts';
import type { Exchange } from './request.ts';
import { baseHeaders, empty } from './responses.ts';

type BlobRoute = Extract<Route, { kind: 'blob' }>;

/** Serves a blob, whole or one byte range, straight from the store (sendfile for files). */
export async function getBlob(x: Exchange<BlobRoute>, name: string): Promise<Response> {
  const digest = parseDigest(x.route.digest);
  const headers = baseHeaders({
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    'Accept-Ranges': 'bytes',
    ETag: `"${digest}"`,
    // Bun adds `Content-Disposition: filename="<file on disk>"` to file bodies unless one is set; ours names nothing.
    'Content-Disposition': 'attachment',
  });
  if (x.method === 'HEAD') {
    const info = await statBlob(x.core, name, digest);
    return empty(200, headers, info.size);
  }
  const blob = await openBlob(x.core, name, digest);
  const range = parseRangeHeader(x.request.headers.get('range'), blob.size);
  if (range.kind === 'unsatisfiable') {
    // The spec has no code for an unsatisfiable read range; SIZE_INVALID is the nearest, with the HTTP 416.
    throw new RegistryError('SIZE_INVALID', 'requested range not satisfiable', {
      status: 416,
      headers: { 'Content-Range': `bytes */${blob.size}` },
      detail: { size: blob.size },
    });
  }
  if (range.kind === 'partial') {
    const { start, end } = range.range;
    headers.set('Content-Range', `bytes ${start}-${end}/${blob.size}`);
    headers.set('Content-Length', String(end - start + 1));
    return new Response(blob.body.slice(start, end + 1), { status: 206, headers });
  }
  headers.set('Content-Length', String(blob.size));
  return new Response(blob.body, { status: 200, headers });
}

/** Removes a blob from a repository (202). */
export async function removeBlob(x: Exchange<BlobRoute>, name: string): Promise<Response> {
  await deleteBlob(x.core, name, parseDigest(x.route.digest));
  return empty(202);
}
