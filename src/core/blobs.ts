/** Blob reads and deletes within a repository. */
import { RegistryError } from '../errors.ts';
import { digestAlgorithm, type Digest } from '../oci/digest.ts';
import type { BlobInfo } from '../storage/types.ts';
import { emit, type CoreContext } from './context.ts';
import { assertDeletable } from './guards.ts';
import type { ReadThrough, SourcedBlob } from './read-through.ts';

/** A blob ready to be served. */
export interface OpenedBlob extends BlobInfo {
  body: Blob;
}

/** Size of a blob visible in `repository`. @throws BLOB_UNKNOWN */
export async function statBlob(ctx: CoreContext, repository: string, digest: Digest): Promise<BlobInfo> {
  const info = ctx.index.hasBlob(repository, digest) ? await ctx.blobs.stat(digest) : undefined;
  if (!info) throw unknownBlob(digest);
  return info;
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
  const read = (ctx.index.hasBlob(repository, digest) ? await readLinked(ctx, digest, head, through) : undefined) ?? (await through?.blob(digest, head));
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
 * Removes the blob from `repository`. The bytes go too once no repository links them; both steps run under the
 * digest's lock so a concurrent upload of the same content cannot lose its file.
 */
export async function deleteBlob(ctx: CoreContext, repository: string, digest: Digest): Promise<void> {
  assertDeletable(ctx);
  const size = await ctx.locks.run(`blob:${digest}`, async () => {
    if (!ctx.index.hasBlob(repository, digest)) return undefined;
    const info = await ctx.blobs.stat(digest);
    await ctx.index.unlinkBlob(repository, digest);
    if (!ctx.index.isBlobLinkedAnywhere(digest)) await ctx.blobs.delete(digest);
    return info?.size ?? 0;
  });
  if (size === undefined) throw unknownBlob(digest);
  emit(ctx, 'onDelete', { kind: 'blob', repository, reference: digest, digest, mediaType: 'application/octet-stream', size });
}

/** Links a stored blob into a repository under the digest's lock (the counterpart of the delete above). */
export async function linkStoredBlob(ctx: CoreContext, repository: string, digest: Digest): Promise<BlobInfo | undefined> {
  return ctx.locks.run(`blob:${digest}`, async () => {
    const info = await ctx.blobs.stat(digest);
    if (info) await ctx.index.linkBlob(repository, digest);
    return info;
  });
}

/**
 * Stores a verified file (a mirror fill) as the blob `digest` and links it into `repository`, under the digest's
 * lock like an upload commit, so a concurrent delete of the last link cannot remove the new file.
 */
export async function adoptBlob(ctx: CoreContext, repository: string, file: string, digest: Digest, size: number): Promise<BlobInfo> {
  return ctx.locks.run(`blob:${digest}`, async () => {
    let info: BlobInfo;
    if (ctx.blobs.importFile) info = await ctx.blobs.importFile(file, digest, size);
    else {
      const session = await ctx.blobs.startUpload({ algorithms: [digestAlgorithm(digest)] });
      try {
        await session.append(Bun.file(file).stream());
        info = await session.commit(digest);
      } catch (error) {
        await session.cancel().catch(() => undefined);
        throw error;
      }
    }
    await ctx.index.linkBlob(repository, digest);
    return info;
  });
}

function unknownBlob(digest: Digest): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest } });
}
