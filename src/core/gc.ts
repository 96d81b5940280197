/**
 * Garbage collection (mark and sweep), safe beside live servers in other processes. A blob link survives when a
 * manifest of its repository references it or when it was made or touched within the grace period (a push in
 * progress links blobs, or finds them with a HEAD, before its manifest arrives); a blob file survives while any
 * repository links it or a commit holds it. Every removal re-checks inside the index's write transaction: a link
 * goes only if it is still older than the cutoff and no manifest was stored in its repository since the marks were
 * taken; a file goes only under a deletion claim (see blob-lifecycle.ts). Marks are kept per repository in memory.
 */
import type { Digest } from '../oci/digest.ts';
import { parseManifest } from '../oci/manifest.ts';
import { allRepositories } from '../storage/index-pages.ts';
import { deleteUnlinkedBlob, LINK_TOUCH_INTERVAL_MS } from './blob-lifecycle.ts';
import type { CoreContext } from './context.ts';

/** Options of {@link collectGarbage}. */
export interface GcOptions {
  /** Links and files younger than this are kept. @default 1 h */
  graceMs?: number;
  /** Report what would go without removing anything. @default false */
  dryRun?: boolean;
  /** Hears one line per repository scanned and per blob removed. */
  onProgress?(message: string): void;
}

/** What a collection removed (or would remove, in a dry run). */
export interface GcReport {
  repositories: number;
  unlinked: number;
  deletedBlobs: number;
  freedBytes: number;
}

/** How often one link's removal is retried when manifests keep arriving in its repository. */
const REMARK_ATTEMPTS = 5;

/** Runs one collection over every repository and the blob store. */
export async function collectGarbage(ctx: CoreContext, options: GcOptions = {}): Promise<GcReport> {
  const graceMs = options.graceMs ?? 60 * 60 * 1000;
  // A HEAD refreshes a link only when it is older than the touch interval: widen the window by as much, so a
  // client that found a blob keeps it for the whole grace period. (A zero grace promises nothing to pushes.)
  const cutoff = Date.now() - graceMs - (graceMs > 0 ? LINK_TOUCH_INTERVAL_MS : 0);
  const fileCutoff = Date.now() - graceMs;
  const report: GcReport = { repositories: 0, unlinked: 0, deletedBlobs: 0, freedBytes: 0 };
  const progress = options.onProgress ?? (() => {});
  // Dry run: which blobs keep a link somewhere, and which would lose one, so the files that would become
  // unlinked are counted too.
  const kept = new Set<Digest>();
  const wouldUnlink = new Set<Digest>();

  for await (const repository of allRepositories(ctx.index)) {
    report.repositories++;
    const marks = new Marks(ctx, repository);
    if (!(await marks.update())) {
      progress(`${repository}: a stored manifest no longer parses; collection stopped, nothing more removed`);
      return report;
    }
    let unlinked = 0;
    for (const { digest, linkedAt } of await ctx.index.listBlobLinks(repository)) {
      if (marks.has(digest) || linkedAt >= cutoff) {
        if (options.dryRun) kept.add(digest);
        continue;
      }
      if (options.dryRun) {
        wouldUnlink.add(digest);
        unlinked++;
        continue;
      }
      const removed = await unlinkIfUnused(ctx, repository, digest, cutoff, marks);
      if (removed === 'stop') {
        progress(`${repository}: a stored manifest no longer parses; collection stopped, nothing more removed`);
        return report;
      }
      if (removed) unlinked++;
    }
    report.unlinked += unlinked;
    progress(`${repository}: ${marks.size} referenced blobs, ${unlinked} unreferenced links ${options.dryRun ? 'would be removed' : 'removed'}`);
  }

  for await (const digest of ctx.blobs.list()) {
    const linked = options.dryRun
      ? kept.has(digest) || (!wouldUnlink.has(digest) && (await ctx.index.isBlobLinkedAnywhere(digest)))
      : await ctx.index.isBlobLinkedAnywhere(digest);
    if (linked) continue;
    const info = await ctx.blobs.stat(digest);
    if (!info || (await youngerThan(ctx, digest, fileCutoff))) continue;
    if (!options.dryRun && !(await deleteUnlinkedBlob(ctx, digest))) continue;
    report.deletedBlobs++;
    report.freedBytes += info.size;
    progress(`${options.dryRun ? 'would delete' : 'deleted'} ${digest} (${info.size} bytes)`);
  }
  return report;
}

/**
 * Unlinks one unreferenced link, re-checked by the index in the unlink's own transaction: still older than the
 * cutoff, and the repository's generation unchanged since the marks. When a manifest arrived meanwhile, marks again
 * (only the new manifests) and retries.
 */
async function unlinkIfUnused(ctx: CoreContext, repository: string, digest: Digest, cutoff: number, marks: Marks): Promise<boolean | 'stop'> {
  for (let attempt = 0; attempt < REMARK_ATTEMPTS; attempt++) {
    if (await ctx.index.unlinkBlob(repository, digest, { linkedBefore: cutoff, generation: marks.generation })) return true;
    if ((await ctx.index.repositoryGeneration(repository)) === marks.generation) return false; // touched, or gone already
    if (!(await marks.update())) return 'stop';
    if (marks.has(digest)) return false;
  }
  return false;
}


/** The blobs the manifests of one repository reference; `update` adds manifests stored since the last call. */
class Marks {
  private readonly blobs = new Set<Digest>();
  private readonly seen = new Set<Digest>();
  /** The repository's generation read before the last update: the marks cover every manifest stored up to it. */
  generation = -1;

  constructor(
    private readonly ctx: CoreContext,
    private readonly repository: string,
  ) {}

  /** Marks the blobs of manifests not seen yet; false when one no longer parses (then nothing may be removed). */
  async update(): Promise<boolean> {
    // Read before the listing: a manifest stored after this read advances the generation, and the index then
    // refuses the unlink, so marks that miss it are never acted on.
    this.generation = await this.ctx.index.repositoryGeneration(this.repository);
    for (const digest of await this.ctx.index.listManifestDigests(this.repository)) {
      if (this.seen.has(digest)) continue;
      const record = await this.ctx.index.getManifest(this.repository, digest);
      if (!record) continue;
      try {
        for (const blob of parseManifest(record.body, record.mediaType).blobs) this.blobs.add(blob);
      } catch {
        return false;
      }
      this.seen.add(digest);
    }
    return true;
  }

  has(digest: Digest): boolean {
    return this.blobs.has(digest);
  }

  get size(): number {
    return this.blobs.size;
  }
}

/** Files written within the grace period may belong to a commit whose link is not written yet (another process). */
async function youngerThan(ctx: CoreContext, digest: Digest, cutoff: number): Promise<boolean> {
  const blob = await ctx.blobs.open(digest);
  return blob instanceof Blob && 'lastModified' in blob && (blob as File).lastModified > cutoff;
}
