/**
 * Per-repository summaries for the repository list: tag count, stored size and last push. The index keeps none of
 * these, so they are computed lazily for the rows of the page being shown, with bounds, and cached briefly.
 *
 * Cost of one summary (LMDB reads, no file I/O): a key scan of up to {@link MAX_COUNTED_TAGS} + 1 tags, a key scan of
 * the repository's manifests and a read + JSON parse of up to {@link MAX_SUMMARY_MANIFESTS} of them, and one range
 * scan of its blob links. A page of 50 small repositories takes a few milliseconds; a cached summary costs nothing.
 */
import type { Digest } from '../oci/digest.ts';
import type { MetadataIndex } from '../storage/types.ts';
import { readBody } from './image-facts.ts';

/** Tags counted per repository; more is shown as "10,000+". */
export const MAX_COUNTED_TAGS = 10_000;
/** Manifests read per repository for its size; past this the size is a lower bound. */
export const MAX_SUMMARY_MANIFESTS = 1000;
const CACHE_ENTRIES = 20_000;
const CACHE_TTL_MS = 15_000;

/** One row of the repository list. */
export interface RepositorySummary {
  name: string;
  tags: number;
  /** True when the repository has more than {@link MAX_COUNTED_TAGS} tags. */
  tagsCapped: boolean;
  manifests: number;
  /** Distinct blobs referenced by its manifests plus the manifests themselves, in bytes (blobs shared between repositories count in each). */
  size: number;
  /** True when only the first {@link MAX_SUMMARY_MANIFESTS} manifests were read, so `size` is a lower bound. */
  sizePartial: boolean;
  /** When a blob was last linked into the repository (ms); the index keeps no manifest push time. */
  lastPush?: number;
}

/** Computes and caches summaries (LRU, short TTL: a push shows up within {@link CACHE_TTL_MS}). */
export class RepositorySummaries {
  private readonly cache = new Map<string, { at: number; summary: RepositorySummary }>();

  constructor(private readonly index: MetadataIndex) {}

  /** The summary of one repository. */
  async get(name: string): Promise<RepositorySummary> {
    const hit = this.cache.get(name);
    if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.summary;
    const summary = await this.compute(name);
    this.cache.delete(name);
    this.cache.set(name, { at: Date.now(), summary });
    if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    return summary;
  }

  private async compute(name: string): Promise<RepositorySummary> {
    const tagPage = await this.index.listTags(name, { limit: MAX_COUNTED_TAGS });
    const digests = await this.index.listManifestDigests(name);
    const blobs = new Map<string, number>();
    let size = 0;
    for (const digest of digests.slice(0, MAX_SUMMARY_MANIFESTS)) {
      const record = await this.index.getManifest(name, digest as Digest);
      if (!record) continue;
      size += record.size;
      const body = readBody(record);
      for (const d of body ? [body.config, ...body.layers] : []) if (d) blobs.set(d.digest, d.size);
    }
    for (const bytes of blobs.values()) size += bytes;
    let lastPush: number | undefined;
    for (const link of await this.index.listBlobLinks(name)) if (link.linkedAt && (lastPush === undefined || link.linkedAt > lastPush)) lastPush = link.linkedAt;
    return {
      name,
      tags: tagPage.items.length,
      tagsCapped: tagPage.more,
      manifests: digests.length,
      size,
      sizePartial: digests.length > MAX_SUMMARY_MANIFESTS,
      lastPush,
    };
  }
}
