/** Blob reads and deletes within a repository. */
import { RegistryError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import type { BlobInfo } from '../storage/types.ts';
import { deleteUnlinkedBlob, LINK_TOUCH_INTERVAL_MS } from './blob-lifecycle.ts';
import { emit, type CoreContext } from './context.ts';
import { assertDeletable } from './guards.ts';

/** A blob ready to be served. */
export interface OpenedBlob extends BlobInfo {
  body: Blob;
}

/**
 * Size of a blob visible in `repository`. A client that finds it may skip its upload and reference it in a manifest
 * next, so the link's grace period against garbage collection starts again. @throws BLOB_UNKNOWN
 */
export async function statBlob(ctx: CoreContext, repository: string, digest: Digest): Promise<BlobInfo> {
  const linked = await ctx.index.touchBlobLink(repository, digest, Date.now() - LINK_TOUCH_INTERVAL_MS);
  const info = linked ? await ctx.blobs.stat(digest) : undefined;
  if (!info) throw unknownBlob(digest);
  return info;
}

/** A blob visible in `repository`, ready to stream. @throws BLOB_UNKNOWN */
export async function openBlob(ctx: CoreContext, repository: string, digest: Digest): Promise<OpenedBlob> {
  // One index read: the link carries the size, so the store need not stat the file.
  const link = ctx.index.blobLink(repository, digest);
  const body = link ? await ctx.blobs.open(digest, link.size) : undefined;
  if (!body) throw unknownBlob(digest);
  const size = link?.size ?? body.size;
  // A link without its size (an older store) learns it now, so the next read skips the stat.
  if (link && link.size === undefined) void ctx.index.recordBlobSize?.(repository, digest, size).catch(() => undefined);
  emit(ctx, 'onPull', { kind: 'blob', repository, reference: digest, digest, mediaType: 'application/octet-stream', size });
  return { digest, size, body };
}

/**
 * Removes the blob from `repository`. The bytes go too once no repository links them, under a deletion claim, so a
 * concurrent upload or mount of the same content (in any process) cannot lose its file.
 */
export async function deleteBlob(ctx: CoreContext, repository: string, digest: Digest): Promise<void> {
  assertDeletable(ctx);
  const info = await ctx.blobs.stat(digest);
  if (!(await ctx.index.unlinkBlob(repository, digest))) throw unknownBlob(digest);
  await deleteUnlinkedBlob(ctx, digest);
  const size = info?.size ?? 0;
  emit(ctx, 'onDelete', { kind: 'blob', repository, reference: digest, digest, mediaType: 'application/octet-stream', size });
}

export { linkStoredBlob } from './blob-lifecycle.ts';

function unknownBlob(digest: Digest): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest } });
}
