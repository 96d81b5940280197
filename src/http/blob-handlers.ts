/** GET, HEAD and DELETE of blobs. */
import { deleteBlob, openBlob, statBlob } from '../core/blobs.ts';
import { parseDigest } from '../oci/digest.ts';
import type { Route } from './paths.ts';
import { blobHeaders, blobResponse, headResponse, sliceBlob } from './representations.ts';
import type { Exchange } from './request.ts';
import { empty } from './responses.ts';

type BlobRoute = Extract<Route, { kind: 'blob' }>;

/** Serves a blob, whole or one byte range, straight from the store (sendfile for files). */
export async function getBlob(x: Exchange<BlobRoute>, name: string): Promise<Response> {
  const digest = parseDigest(x.route.digest);
  const headers = blobHeaders(digest);
  if (x.method === 'HEAD') return headResponse(headers, (await statBlob(x.core, name, digest)).size);
  const blob = await openBlob(x.core, name, digest);
  return blobResponse(headers, blob.size, x.request.headers.get('range'), sliceBlob(blob.body));
}

/** Removes a blob from a repository (202). */
export async function removeBlob(x: Exchange<BlobRoute>, name: string): Promise<Response> {
  await deleteBlob(x.core, name, parseDigest(x.route.digest));
  return empty(202);
}
