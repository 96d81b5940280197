/**
 * Reads that fall back to another source when the local stores lack the content. The pull-through mirror plugs in
 * here, so local and mirrored reads share one path: core checks the repository's links and emits the events; the
 * source answers only what the repository does not link, and stores what it fetches through core's commit.
 */
import type { Digest } from '../oci/digest.ts';
import type { ManifestRecord } from '../storage/types.ts';

/**
 * How an answer was produced; the HTTP layer sends it as Cache-Status (RFC 9211). `stale`: the source failed and
 * cached content stood in; `updating`: past its freshness, answered from cache while the source is asked again in
 * the background (RFC 5861 stale-while-revalidate).
 */
export type CacheOutcome = 'hit' | 'miss' | 'joined' | 'stale' | 'updating' | 'revalidated';

/** A blob answered by a source: stored bytes, bytes still arriving, or (HEAD on a miss) only the size. */
export type SourcedBlob =
  | { kind: 'stored'; body: Blob; size: number; outcome: CacheOutcome }
  | {
      kind: 'stream';
      /** Unknown until the source announces it; a response without it is chunked and ignores Range. */
      size: number | undefined;
      /** The bytes [start, end] (inclusive) as they arrive. */
      open(start?: number, end?: number): ReadableStream<Uint8Array>;
      outcome: CacheOutcome;
    }
  | { kind: 'head'; size: number; outcome: CacheOutcome };

/** The source behind one repository. */
export interface ReadThrough {
  /** Told when core serves a blob the repository links (a cache hit), so the source can note the access. */
  blobHit(digest: Digest, size: number, head: boolean): void;
  /** A blob the repository does not link. @throws BLOB_UNKNOWN when the source does not vouch for it either */
  blob(digest: Digest, head: boolean): Promise<SourcedBlob>;
  /** A manifest by tag or digest; the source decides freshness. @throws MANIFEST_UNKNOWN */
  manifest(reference: string): Promise<{ record: ManifestRecord; outcome: CacheOutcome }>;
}
