/**
 * Garbage collection (mark and sweep). A blob link survives when a manifest of its repository references it or when
 * it is younger than the grace period (a push in progress links blobs before its manifest arrives); a blob file
 * survives while any repository links it. Marks are kept per repository in memory: one Set of digests at a time.
 */
import type { Digest } from '../oci/digest.ts';
import { parseManifest } from '../oci/manifest.ts';
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

/** Runs one collection over every repository and the blob store. */
export async function collectGarbage(ctx: CoreContext, options: GcOptions = {}): Promise<GcReport> {
  const graceMs = options.graceMs ?? 60 * 60 * 1000;
  const cutoff = Date.now() - graceMs;
  const report: GcReport = { repositories: 0, unlinked: 0, deletedBlobs: 0, freedBytes: 0 };
  const progress = options.onProgress ?? (() => {});

  for (const repository of allRepositories(ctx)) {
    report.repositories++;
    const marks = new Marks(ctx, repository);
    if (!marks.update()) {
      progress(`${repository}: a stored manifest no longer parses; collection stopped, nothing more removed`);
      return report;
    }
    let unlinked = 0;
    for (const { digest, linkedAt } of ctx.index.listBlobLinks(repository)) {
      if (marks.has(digest) || linkedAt > cutoff) continue;
      if (!options.dryRun) {
        const removed = await ctx.locks.run(`blob:${digest}`, async () => {
          // Mark again under the lock: a manifest put may have arrived since the first pass.
          if (!marks.update() || marks.has(digest)) return false;
          return ctx.index.unlinkBlob(repository, digest);
        });
        if (!removed) continue;
      }
      unlinked++;
    }
    report.unlinked += unlinked;
    progress(`${repository}: ${marks.size} referenced blobs, ${unlinked} unreferenced links ${options.dryRun ? 'would be removed' : 'removed'}`);
  }

  for await (const digest of ctx.blobs.list()) {
    if (ctx.index.isBlobLinkedAnywhere(digest)) continue;
    const info = await ctx.blobs.stat(digest);
    if (!info || (await youngerThan(ctx, digest, cutoff))) continue;
    if (!options.dryRun) {
      const removed = await ctx.locks.run(`blob:${digest}`, async () => !ctx.index.isBlobLinkedAnywhere(digest) && (await ctx.blobs.delete(digest)));
      if (!removed) continue;
    }
    report.deletedBlobs++;
    report.freedBytes += info.size;
    progress(`${options.dryRun ? 'would delete' : 'deleted'} ${digest} (${info.size} bytes)`);
  }
  return report;
}

function* allRepositories(ctx: CoreContext): Generator<string> {
  let last: string | undefined;
  for (;;) {
    const page = ctx.index.listRepositories({ last, limit: 1000 });
    yield* page.items;
    if (!page.more) return;
    last = page.items.at(-1);
  }
}

/** The blobs the manifests of one repository reference; `update` adds manifests stored since the last call. */
class Marks {
  private readonly blobs = new Set<Digest>();
  private readonly seen = new Set<Digest>();

  constructor(
    private readonly ctx: CoreContext,
    private readonly repository: string,
  ) {}

  /** Marks the blobs of manifests not seen yet; false when one no longer parses (then nothing may be removed). */
  update(): boolean {
    for (const digest of this.ctx.index.listManifestDigests(this.repository)) {
      if (this.seen.has(digest)) continue;
      const record = this.ctx.index.getManifest(this.repository, digest);
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
