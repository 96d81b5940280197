/**
 * Storage contracts. The core depends only on these; `test/contracts/` holds the suites every implementation must pass.
 * "Not found" is `undefined`; anything else that goes wrong is thrown (or, for an answer that is a promise, rejects).
 */
import type { Digest, DigestAlgorithm } from '../oci/digest.ts';

/**
 * What a storage read returns: a value at once (an embedded store such as LMDB or SQLite) or a promise (a network
 * store). Callers `await` it; hot paths that must not pay a tick for an embedded store use `andThen` (`maybe.ts`).
 */
export type MaybePromise<T> = T | Promise<T>;

/** What a blob store knows about one blob. */
export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** A readable blob: `Bun.file` on disk (sendfile, `.slice()` for ranges) or an in-memory Blob. */
export type BlobBody = Blob;

/** Global content-addressed store. Knows nothing of repositories or tags. */
export interface BlobStore {
  /** Size of a stored blob, or undefined. */
  stat(digest: Digest): Promise<BlobInfo | undefined>;
  /**
   * The blob's bytes, or undefined when absent. `size`, when given, is the size recorded when the blob was linked:
   * a store may trust it instead of looking the file up (a committed link always has its file).
   */
  open(digest: Digest, size?: number): Promise<BlobBody | undefined>;
  /** Stores bytes held in memory (small blobs); verifies the digest. */
  put(digest: Digest, bytes: Uint8Array): Promise<BlobInfo>;
  /** Starts an upload session that hashes bytes as they arrive. */
  startUpload(options?: { algorithms?: DigestAlgorithm[] }): Promise<UploadSession>;
  /** Re-opens a session by id (also after a restart), or undefined when unknown. */
  resumeUpload(id: string): Promise<UploadSession | undefined>;
  /**
   * Optional fast path: takes ownership of a complete local file whose content the caller has already verified
   * against `digest` (the mirror's spool files). Without it, callers stream the file through an upload session.
   */
  importFile?(file: string, digest: Digest, size: number): Promise<BlobInfo>;
  /**
   * Optional housekeeping: removes partial files (uploads, temporary puts, mirror spools) untouched for `maxAgeMs`
   * whose upload id `isOpen` does not claim; returns how many went.
   */
  sweep?(maxAgeMs: number, isOpen: (id: string) => boolean): Promise<number>;
  /**
   * Optional: a URL from which a client may fetch the stored blob directly (a presigned object-store URL). When it
   * returns one, blob GETs answer 307 to it instead of sending the bytes through the registry.
   */
  redirectUrl?(digest: Digest): string | undefined;
  /** Removes a blob; false when it was not there. */
  delete(digest: Digest): Promise<boolean>;
  /** Every stored digest. */
  list(): AsyncIterable<Digest>;
  /** Releases resources. */
  close(): Promise<void>;
}

/** An open upload. Appends are serialised by the caller; sessions hash incrementally. */
export interface UploadSession {
  readonly id: string;
  /** Bytes received so far. */
  readonly size: number;
  /**
   * Appends bytes and returns the new size. When `expectedLength` is given the body must be exactly that long
   * (SIZE_INVALID otherwise). A failed append leaves the session exactly as it was before.
   */
  append(body: ReadableStream<Uint8Array> | Uint8Array, expectedLength?: number): Promise<number>;
  /** Verifies the content against `expected` and makes it a blob atomically. DIGEST_INVALID on mismatch. */
  commit(expected: Digest): Promise<BlobInfo>;
  /** Discards the session and its bytes. */
  cancel(): Promise<void>;
}

/** A manifest as the index keeps it: the exact bytes plus what listings need. */
export interface ManifestRecord {
  digest: Digest;
  mediaType: string;
  size: number;
  /** The exact uploaded bytes. */
  body: Uint8Array;
  artifactType?: string;
  subject?: Digest;
  annotations?: Record<string, string>;
}

/** A referrers-list entry (an OCI descriptor). */
export interface ReferrerDescriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** A window of a referrers list: entries after the digest `after`, at most `limit`. */
export interface ReferrerRange {
  after?: Digest;
  limit?: number;
}

/** What a manifest put must find present, checked inside the write transaction. */
export interface ManifestRequirements {
  blobs: Digest[];
  manifests: Digest[];
}

/** A page of names (tags, repositories) in lexical order. */
export interface Page {
  items: string[];
  /** True when more items follow the last one returned. */
  more: boolean;
}

/**
 * Metadata: repository links, manifests, tags and referrers. The one source of truth for what a repository holds.
 * Writes are durable when their promise resolves.
 */
export interface MetadataIndex {
  /** True when the blob is linked into the repository. */
  hasBlob(repository: string, digest: Digest): MaybePromise<boolean>;
  /**
   * The link of a blob in a repository, undefined when it is not linked; with the blob's size when the link
   * records it (links made before sizes were recorded lack it).
   */
  blobLink(repository: string, digest: Digest): MaybePromise<{ size?: number } | undefined>;
  /**
   * Optional: records the size of a linked blob whose link lacks it (links made before sizes were kept, or by
   * tools that link files directly), so later reads skip the stat. Changes nothing else; need not be durable.
   */
  recordBlobSize?(repository: string, digest: Digest, size: number): Promise<void>;
  /**
   * Links a stored blob into a repository, or refreshes the link's time when it exists; `size` (the stored blob's)
   * is kept with the link so reads need no stat. With `hold` (from
   * {@link holdBlob}), the hold is released in the same transaction, and false is returned (nothing linked) when
   * the hold has expired meanwhile. Without a hold, false while a deletion of the blob is claimed.
   */
  linkBlob(repository: string, digest: Digest, hold?: string, size?: number): Promise<boolean>;
  /**
   * Refreshes the link's time when it was made before `olderThan` (ms since the epoch), so garbage collection's
   * grace period starts again; false when the blob is not linked. A client that found the blob with a HEAD may
   * skip its upload and reference it in a manifest next.
   */
  touchBlobLink(repository: string, digest: Digest, olderThan: number): Promise<boolean>;
  /**
   * Unlinks a blob from a repository; false when it was not linked. With `ifUnused`, only when, inside the same
   * transaction, the link is older than `linkedBefore` and the repository's generation still equals `generation`
   * (no manifest was stored since the caller marked what the repository's manifests reference).
   */
  unlinkBlob(repository: string, digest: Digest, ifUnused?: { linkedBefore: number; generation: number }): Promise<boolean>;
  /** A counter that every manifest put in the repository advances (0 before the first). */
  repositoryGeneration(repository: string): MaybePromise<number>;
  /** A repository (other than `except`) that links the blob, for anonymous mounts. */
  findBlobRepository(digest: Digest, except?: string): MaybePromise<string | undefined>;
  /** True when any repository links the blob (GC and deletes of the global store). */
  isBlobLinkedAnywhere(digest: Digest): MaybePromise<boolean>;
  /** The blobs linked into a repository, with when each link was made or last refreshed (ms since the epoch), in digest order. */
  listBlobLinks(repository: string): MaybePromise<{ digest: Digest; linkedAt: number }[]>;
  /**
   * Holds a blob against deletion while its file is written or checked, until {@link linkBlob} or
   * {@link releaseBlob} ends the hold or `ttlMs` passes (a crashed holder). Undefined while a deletion is claimed.
   */
  holdBlob(digest: Digest, ttlMs: number): Promise<string | undefined>;
  /**
   * Claims the deletion of a blob's file: granted (a token) only when no repository links the blob and nobody
   * holds it; while the claim lasts (until released or `ttlMs` passes), holds and plain links are refused.
   */
  claimBlobDeletion(digest: Digest, ttlMs: number): Promise<string | undefined>;
  /** Ends a hold or a deletion claim. */
  releaseBlob(digest: Digest, token: string): Promise<void>;
  /** The digests of the manifests stored in a repository, in digest order. */
  listManifestDigests(repository: string): MaybePromise<Digest[]>;

  /** The manifest stored in the repository under this digest. */
  getManifest(repository: string, digest: Digest): MaybePromise<ManifestRecord | undefined>;
  /** The digest a tag points at. */
  resolveTag(repository: string, tag: string): MaybePromise<Digest | undefined>;
  /**
   * Stores a manifest and moves `tags` to it, with its referrer edge, in ONE transaction; refreshes the link time
   * of every required blob and advances the repository's generation.
   * Throws MANIFEST_BLOB_UNKNOWN (listing what is missing) when a requirement is not met at commit time.
   */
  putManifest(repository: string, record: ManifestRecord, tags: string[], requires: ManifestRequirements): Promise<void>;
  /** Deletes a manifest, its tags and its referrer edge; false when absent. */
  deleteManifest(repository: string, digest: Digest): Promise<boolean>;
  /** Deletes a tag; false when absent. */
  deleteTag(repository: string, tag: string): Promise<boolean>;
  /** Tags in lexical order after `last`, at most `limit`. */
  listTags(repository: string, options: { last?: string; limit: number }): MaybePromise<Page>;
  /** Tags pointing at `digest`. */
  tagsOf(repository: string, digest: Digest): MaybePromise<string[]>;
  /**
   * Referrers of a subject in digest order, optionally of one artifact type; with `range`, only those after
   * `range.after`, at most `range.limit` (an implementation may return more; the core trims). The list may be
   * shared between callers (a cached one), so it is never changed.
   */
  listReferrers(repository: string, subject: Digest, artifactType?: string, range?: ReferrerRange): MaybePromise<readonly ReferrerDescriptor[]>;
  /** True when the repository holds anything (blob link, manifest or tag). */
  hasRepository(repository: string): MaybePromise<boolean>;
  /** Repositories in lexical order after `last`, at most `limit`. */
  listRepositories(options: { last?: string; limit: number }): MaybePromise<Page>;
  /** Releases resources. */
  close(): Promise<void>;
}

/** One open upload session: which repository owns it, and when it was started and last touched (ms). */
export interface UploadEntry {
  id: string;
  repository: string;
  startedAt: number;
  touchedAt: number;
}

/**
 * Bookkeeping of open upload sessions, so they survive restarts and abandoned ones can be purged. Shared by every
 * process (and node) serving the same data: an entry added by one is seen by all.
 */
export interface UploadLedger {
  /** Records a new session (ids are unique; adding an existing id throws). */
  add(entry: UploadEntry): MaybePromise<void>;
  /** The entry of a session, or undefined. */
  get(id: string): MaybePromise<UploadEntry | undefined>;
  /** Sets when the session was last touched; nothing when it is unknown. */
  touch(id: string, at: number): MaybePromise<void>;
  /** Forgets a session; nothing when it is unknown. */
  remove(id: string): MaybePromise<void>;
  /** Sessions not touched since `before` (ms; strictly earlier). */
  idleSince(before: number): MaybePromise<UploadEntry[]>;
  /** How many sessions are open, in `repository` or in all. */
  count(repository?: string): MaybePromise<number>;
  /** Releases resources. */
  close(): MaybePromise<void>;
}

/** How a lock is taken. */
export interface LockOptions {
  /**
   * How long the lease lasts unless renewed (ms): the longest a holder that died (a killed process) keeps others
   * out. {@link Locks.run} renews it while its function runs.
   */
  leaseMs?: number;
  /** How long to wait for a key another holder has (ms); past it the acquisition fails with LockTimeoutError. */
  waitMs?: number;
}

/** A lock held on one key until it is released or its lease runs out. */
export interface Lease {
  readonly key: string;
  /**
   * Throws LockLostError when the lease may no longer be exclusive: it ran out (the holder stalled past it) or a
   * renewal found another holder. Call it right before a write that must not race another holder.
   */
  check(): void;
  /** Extends the lease by its length from now. @throws LockLostError when another holder has taken the key */
  renew(): Promise<void>;
  /** Gives the key up; a lease that was lost releases nothing of the new holder. Idempotent. */
  release(): Promise<void>;
}

/**
 * Mutual exclusion by key (one upload session, one digest) with leases: a holder that dies stops blocking others
 * once its lease runs out, and every wait has a deadline. Implementations: in one process, across the processes of
 * one host (several workers on one data directory), and across nodes (a shared database).
 */
export interface Locks {
  /** Takes `key`, waiting at most `waitMs` for its holder. @throws LockTimeoutError past the wait */
  acquire(key: string, options?: LockOptions): Promise<Lease>;
  /** Takes `key` only if nobody holds it or waits for it; undefined at once otherwise. */
  tryAcquire(key: string, options?: LockOptions): Promise<Lease | undefined>;
  /** Runs `fn` holding `key` (renewing the lease while it runs), then releases it. */
  run<T>(key: string, fn: (lease: Lease) => Promise<T>, options?: LockOptions): Promise<T>;
  /**
   * Runs `fn` only if `key` is free; `{ ran: false }` at once otherwise. For housekeeping (the idle upload purge)
   * that must never queue behind a request whose client is slow.
   */
  tryRun<T>(key: string, fn: (lease: Lease) => Promise<T>, options?: LockOptions): Promise<{ ran: true; value: T } | { ran: false }>;
  /** Releases resources (leases still held run out on their own). */
  close(): Promise<void>;
}
