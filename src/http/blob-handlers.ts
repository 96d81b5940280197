/** GET, HEAD and DELETE of blobs. */
import { deleteBlob, readBlob } from '../core/blobs.ts';
import { withCacheStatus } from './cache-status.ts';
import { parseDigest } from '../oci/digest.ts';
import type { Route } from './paths.ts';
import { blobHeaders, blobResponse, headResponse, sliceBlob, type HeaderRecord } from './representations.ts';
import type { Exchange } from './request.ts';
import { bufferSmallRemote } from '../storage/remote-body.ts';
import { empty } from './responses.ts';

type BlobRoute = Extract<Route, { kind: 'blob' }>;

/**
 * Serves a blob, whole or one byte range, straight from the store (sendfile for files), or as a read-through source
 * (the mirror) answers it, with its Cache-Status.
 */
export async function getBlob(x: Exchange<BlobRoute>, name: string): Promise<Response> {
  const digest = parseDigest(x.route.digest);
  const head = x.method === 'HEAD';
  const read = await readBlob(x.core, name, digest, { head, through: x.through });
  const headers = withCacheStatus(blobHeaders(digest), read.outcome, x.query.get('ns'));
  if (head || read.kind === 'head') return headResponse(headers, read.size ?? 0);
  const range = x.request.headers.get('range');
  if (read.kind === 'stored') {
    // A store that can hand out a presigned URL (S3) lets the bytes bypass this node.
    const location = x.core.blobs.redirectUrl?.(digest);
    if (location) return redirect(headers, location);
    return blobResponse(headers, read.size, range, sliceBlob(await bufferSmallRemote(read.body, read.size)));
  }
  // Without a size from upstream the response has to be chunked; ranges need the size, so they wait for it.
  if (read.size === undefined) return new Response(read.open(), { status: 200, headers });
  return blobResponse(headers, read.size, range, (r) => read.open(r?.start ?? 0, r?.end));
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
