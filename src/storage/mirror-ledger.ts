/**
 * The mirror's cache ledger as a storage contract: tag freshness, cached images with their blobs, sizes and access
 * times. Implementations: SQLite in the data directory (`mirror/ledger.ts`), a shared database for several nodes.
 * `test/contracts/mirror-ledger.contract.ts` holds the suite every implementation passes.
 */
import type { MaybePromise } from './types.ts';

/** A cached image (a manifest in a mirrored repository) as eviction sees it. */
export interface CachedImage {
  repository: string;
  digest: string;
  size: number;
  lastAccess: number;
}

/** A blob cached on its own (no cached image references it). */
export interface CachedBlob {
  repository: string;
  digest: string;
  size: number;
}

/** Bookkeeping of mirrored content. Times are ms since the epoch; `at` defaults to now. */
export interface MirrorLedger {
  /** The digest a tag had when last checked upstream, and when. */
  tag(repository: string, tag: string): MaybePromise<{ digest: string; checkedAt: number } | undefined>;
  /** Records what a tag pointed at upstream when checked at `at`. */
  setTag(repository: string, tag: string, digest: string, at?: number): MaybePromise<void>;
  /** Records a cached manifest and the blobs it references (refreshing its access time when known), atomically. */
  addImage(repository: string, digest: string, size: number, blobs: string[], at?: number): MaybePromise<void>;
  /** True when the image is recorded as mirrored content. */
  hasImage(repository: string, digest: string): MaybePromise<boolean>;
  /** Notes an access to a cached image; nothing when it is unknown. */
  touchImage(repository: string, digest: string, at?: number): MaybePromise<void>;
  /** Records a cached blob (refreshing its access time when known). */
  addBlob(repository: string, digest: string, size: number, at?: number): MaybePromise<void>;
  /** Notes an access to a cached blob; nothing when it is unknown. */
  touchBlob(repository: string, digest: string, at?: number): MaybePromise<void>;
  /** Bytes of mirrored content recorded (images plus blobs). */
  totalBytes(): MaybePromise<number>;
  /** Least recently used images first; an image's recency is its own or its newest blob's. */
  leastRecentlyUsed(limit: number): MaybePromise<CachedImage[]>;
  /** Every cached image, by repository then digest. */
  allImages(): MaybePromise<CachedImage[]>;
  /**
   * Forgets an image and its tags, atomically, and returns the blobs no other cached image of the repository still
   * references (they are forgotten too; the caller unlinks them).
   */
  removeImage(repository: string, digest: string): MaybePromise<{ digest: string }[]>;
  /** Blobs cached on their own, least recently used first. */
  orphanBlobs(limit: number): MaybePromise<CachedBlob[]>;
  /** Forgets a cached blob; nothing when it is unknown. */
  removeBlob(repository: string, digest: string): MaybePromise<void>;
  /** Releases resources. */
  close(): MaybePromise<void>;
}
