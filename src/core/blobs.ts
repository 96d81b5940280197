/** Blob reads and deletes within a repository. */
import { RegistryError } from '../errors.ts';
import { digestAlgorithm, type Digest } from '../oci/digest.ts';
import { andThen } from '../storage/maybe.ts';
import type { BlobInfo, MaybePromise } from '../storage/types.ts';
import { commitBlob, deleteUnlinkedBlob, LINK_TOUCH_INTERVAL_MS } from './blob-lifecycle.ts';
import { emit, type CoreContext } from './context.ts';
import { assertDeletable } from './guards.ts';
import type { ReadThrough, SourcedBlob } from './read-through.ts';

/** A blob ready to be served. */
export interface OpenedBlob extends BlobInfo {
  body: Blob;
}

/** A blob visible in `repository`, ready to stream (the library's read; HTTP uses {@link readBlob}). @throws BLOB_UNKNOWN */
export async function openBlob(ctx: CoreContext, repository: string, digest: Digest): Promise<OpenedBlob> {
  const read = await readBlob(ctx, repository, digest);
  // Without a read-through source a GET is always a stored blob.
  if (read.kind !== 'stored') throw unknownBlob(digest);
  return { digest, size: read.size, body: read.body };
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
  const linked = !head || (await ctx.index.touchBlobLink(repository, digest, Date.now() - LINK_TOUCH_INTERVAL_MS));
  const read = (linked ? await readLinked(ctx, repository, digest, head, through) : undefined) ?? (await through?.blob(digest, head));
  if (!read) throw unknownBlob(digest);
  if (!head && read.size !== undefined) {
    emit(ctx, 'onPull', { kind: 'blob', repository, reference: digest, digest, mediaType: 'application/octet-stream', size: read.size });
  }
  return read;
}

/** The repository's own blob: one index read (the link carries the size, so the store need not stat the file). */
function readLinked(ctx: CoreContext, repository: string, digest: Digest, head: boolean, through: ReadThrough | undefined): MaybePromise<BlobRead | undefined> {
  return andThen(ctx.index.blobLink(repository, digest), (link) => link && readLink(ctx, repository, digest, link, head, through));
}

async function readLink(ctx: CoreContext, repository: string, digest: Digest, link: { size?: number }, head: boolean, through: ReadThrough | undefined): Promise<BlobRead | undefined> {
  if (head) {
    const size = link.size ?? (await ctx.blobs.stat(digest))?.size;
    if (size === undefined) return undefined;
    through?.blobHit(digest, size, true);
    return through ? { kind: 'head', size, outcome: 'hit' } : { kind: 'head', size };
  }
  const body = await ctx.blobs.open(digest, link.size);
  if (!body) return undefined;
  const size = link.size ?? body.size;
  // A link without its size (an older store) learns it now, so the next read skips the stat.
  if (link.size === undefined) void ctx.index.recordBlobSize?.(repository, digest, size).catch(() => undefined);
  through?.blobHit(digest, size, false);
  return through ? { kind: 'stored', body, size, outcome: 'hit' } : { kind: 'stored', body, size };
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
