/**
 * How blob files come and go safely while other processes (a second server, `marina gc`, `marina cache prune`)
 * share the index and the blob directory. One invariant: a committed link always has its file. So
 * - a file is deleted only under a deletion claim, which the index grants inside a write transaction only when no
 *   repository links the blob and nobody holds it, and which blocks new holds and links until it is released;
 * - a file is written (or found) and then linked under a hold, which blocks claims; the link releases the hold in
 *   the same transaction.
 * A manifest put checks links inside its transaction, so an acknowledged manifest never names a deleted file.
 */
import { RegistryError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import type { BlobInfo } from '../storage/types.ts';
import type { CoreContext } from './context.ts';

/** A link touched by a HEAD is refreshed at most this often; GC's grace period is widened by as much. */
export const LINK_TOUCH_INTERVAL_MS = 1000;
/** How long a deletion claim lasts when its owner dies: holds wait at most this long. */
export const DELETION_CLAIM_TTL_MS = 10_000;
/** How long a hold lasts when its owner dies (longer than any commit: fsync and rename of a large file). */
export const HOLD_TTL_MS = 15 * 60_000;

/**
 * Writes a blob's file with `write` and links it into `repository`, holding the blob so that no deletion can
 * remove the file between the write and the link. @throws UNKNOWN when the hold could not be kept
 */
export async function commitBlob(ctx: CoreContext, repository: string, digest: Digest, write: () => Promise<BlobInfo>): Promise<BlobInfo> {
  const hold = await holdBlob(ctx, digest);
  let info: BlobInfo;
  try {
    info = await write();
  } catch (error) {
    await ctx.index.releaseBlob(digest, hold);
    throw error;
  }
  if (!(await ctx.index.linkBlob(repository, digest, hold, info.size))) {
    throw new RegistryError('UNKNOWN', 'the blob commit outlasted its hold; push the blob again', { detail: { digest } });
  }
  return info;
}

/** Links a blob whose file is already stored (a mount, a mirror hit); undefined when the file is not there. */
export async function linkStoredBlob(ctx: CoreContext, repository: string, digest: Digest): Promise<BlobInfo | undefined> {
  const hold = await holdBlob(ctx, digest);
  // Checked under the hold: a file present now stays until the link is made.
  const info = await ctx.blobs.stat(digest).catch(async (error) => {
    await ctx.index.releaseBlob(digest, hold);
    throw error;
  });
  if (!info) {
    await ctx.index.releaseBlob(digest, hold);
    return undefined;
  }
  return (await ctx.index.linkBlob(repository, digest, hold, info.size)) ? info : undefined;
}

/** Deletes a blob's file if no repository links it and nobody holds it; true when a file was removed. */
export async function deleteUnlinkedBlob(ctx: CoreContext, digest: Digest): Promise<boolean> {
  const asked = Date.now();
  const claim = await ctx.index.claimBlobDeletion(digest, DELETION_CLAIM_TTL_MS);
  if (!claim) return false;
  try {
    // A claim that took most of its lifetime to arrive (a stalled process) may expire before the unlink; a hold
    // taken after that would then lose its file. Give it up instead.
    if (Date.now() - asked > DELETION_CLAIM_TTL_MS / 2) return false;
    return await ctx.blobs.delete(digest);
  } finally {
    await ctx.index.releaseBlob(digest, claim);
  }
}

/** Holds a blob against deletion, waiting (bounded) for a deletion in progress to finish. */
async function holdBlob(ctx: CoreContext, digest: Digest): Promise<string> {
  const deadline = Date.now() + DELETION_CLAIM_TTL_MS + 1000;
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    const hold = await ctx.index.holdBlob(digest, HOLD_TTL_MS);
    if (hold) return hold;
    // A claim lasts milliseconds (one unlink); only a crashed collector's claim makes this wait its whole lease.
    if (Date.now() > deadline) throw new RegistryError('UNKNOWN', 'the blob is being deleted; try again', { detail: { digest } });
    await Bun.sleep(pause);
  }
}
