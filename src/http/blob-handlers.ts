/** GET, HEAD and DELETE of blobs. */
import { deleteBlob, openBlob, statBlob } from '../core/blobs.ts';
import { parseDigest } from '../oci/digest.ts';
import type { Route } from './paths.ts';
import { blobHeaders, blobResponse, headResponse, sliceBlob, type HeaderRecord } from './representations.ts';
import type { Exchange } from './request.ts';
import { empty } from './responses.ts';

type BlobRoute = Extract<Route, { kind: 'blob' }>;

/** Serves a blob, whole or one byte range, straight from the store (sendfile for files). */
export async function getBlob(x: Exchange<BlobRoute>, name: string): Promise<Response> {
  const digest = parseDigest(x.route.digest);
  const headers = blobHeaders(digest);
  if (x.method === 'HEAD') return headResponse(headers, (await statBlob(x.core, name, digest)).size);
  const blob = await openBlob(x.core, name, digest);
  const location = x.core.blobs.redirectUrl?.(digest);
  if (location) return redirect(headers, location);
  return blobResponse(headers, blob.size, x.request.headers.get('range'), sliceBlob(blob.body));
}

/** 307 to where the store serves the blob itself (a presigned URL); the client re-sends its Range there. */
function redirect(headers: HeaderRecord, location: string): Response {
  headers.Location = location;
  headers['Content-Length'] = '0';
  return new Response(null, { status: 307, headers });
}

/** Removes a blob from a repository (202). */
export async function removeBlob(x: Exchange<BlobRoute>, name: string): Promise<Response> {
  await deleteBlob(x.core, name, parseDigest(x.route.digest));
  return empty(202);
}
