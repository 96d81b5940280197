/** Blob reads and deletes within a repository. */
import { RegistryError } from '../errors.ts';
import { digestAlgorithm, type Digest } from '../oci/digest.ts';
import type { BlobInfo } from '../storage/types.ts';
import { commitBlob, deleteUnlinkedBlob, LINK_TOUCH_INTERVAL_MS } from './blob-lifecycle.ts';
import { emit, type CoreContext } from './context.ts';
import { assertDeletable } from './guards.ts';
import type { ReadThrough, SourcedBlob } from './read-through.ts';

/** A blob ready to be served. */
export interface OpenedBlob extends BlobInfo {
  body: Blob;
}

/** A blob visible in `repository`, ready to stream. @throws BLOB_UNKNOWN */
export async function openBlob(ctx: CoreContext, repository: string, digest: Digest): Promise<OpenedBlob> {
  const body = ctx.index.hasBlob(repository, digest) ? await ctx.blobs.open(digest) : undefined;
  if (!body) throw unknownBlob(digest);
  emit(ctx, 'onPull', { kind: 'blob', repository, reference: digest, digest, mediaType: 'application/octet-stream', size: body.size });
  return { digest, size: body.size, body };
}

/** A blob read: stored bytes or (HEAD) the size, or what a read-through source answered (with its cache outcome). */
export type BlobRead = SourcedBlob | { kind: 'stored'; body: Blob; size: number; outcome?: undefined } | { kind: 'head'; size: number; outcome?: undefined };

/**
 * Reads a blob for GET (`head` false) or HEAD: the repository's own linked blob, else, with a read-through source
 * (a mirrored repository), whatever that source vouches for. Emits onPull for GETs.
 * @throws BLOB_UNKNOWN
 */
export async function readBlob(ctx: CoreContext, repository: string, digest: Digest, options: { head?: boolean; through?: ReadThrough } = {}): Promise<BlobRead> {
  const { head = false, through } = options;
  // A client that finds a blob with HEAD may skip its upload and reference it in a manifest next, so the link's
  // grace period against garbage collection starts again (GETs stay free of writes).
  const linked = head ? await ctx.index.touchBlobLink(repository, digest, Date.now() - LINK_TOUCH_INTERVAL_MS) : ctx.index.hasBlob(repository, digest);
  const read = (linked ? await readLinked(ctx, digest, head, through) : undefined) ?? (await through?.blob(digest, head));
  if (!read) throw unknownBlob(digest);
  if (!head && read.size !== undefined) {
    emit(ctx, 'onPull', { kind: 'blob', repository, reference: digest, digest, mediaType: 'application/octet-stream', size: read.size });
  }
  return read;
}

async function readLinked(ctx: CoreContext, digest: Digest, head: boolean, through: ReadThrough | undefined): Promise<BlobRead | undefined> {
  if (head) {
    const info = await ctx.blobs.stat(digest);
    if (!info) return undefined;
    through?.blobHit(digest, info.size, true);
    return through ? { kind: 'head', size: info.size, outcome: 'hit' } : { kind: 'head', size: info.size };
  }
  const body = await ctx.blobs.open(digest);
  if (!body) return undefined;
  through?.blobHit(digest, body.size, false);
  return through ? { kind: 'stored', body, size: body.size, outcome: 'hit' } : { kind: 'stored', body, size: body.size };
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

/**
 * Stores a verified file (a mirror fill) as the blob `digest` and links it into `repository` under a hold, like an
 * upload commit, so no deletion (in any process) can remove the new file before it is linked.
 */
export async function adoptBlob(ctx: CoreContext, repository: string, file: string, digest: Digest, size: number): Promise<BlobInfo> {
  return commitBlob(ctx, repository, digest, async () => {
    if (ctx.blobs.importFile) return ctx.blobs.importFile(file, digest, size);
    const session = await ctx.blobs.startUpload({ algorithms: [digestAlgorithm(digest)] });
    try {
      await session.append(Bun.file(file).stream());
      return await session.commit(digest);
    } catch (error) {
      await session.cancel().catch(() => undefined);
      throw error;
    }
  });
}

function unknownBlob(digest: Digest): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest } });
}
