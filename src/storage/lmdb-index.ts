/**
 * The metadata index on LMDB: ordered keys, so every listing is a range scan, and a manifest put is one transaction.
 * Reads are synchronous (memory-mapped); a write resolves only once it is flushed to disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { crashPoint } from '../crash-points.ts';
import { RegistryError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import { rethrowCommitFailure, quietLmdb } from './lmdb-errors.ts';
import { decodeManifestRecord, encodeManifestRecord } from './manifest-codec.ts';
import { type BlobHold, LmdbBlobHolds } from './lmdb-blob-holds.ts';
import { ReadCache } from './read-cache.ts';
import { linkSize, linkTime, linkValue, type LinkValue } from './lmdb-links.ts';
import { LmdbOpenGate } from './lmdb-open-gate.ts';
import { LmdbReferrers } from './lmdb-referrers.ts';
import { referrerOf } from './records.ts';
import type { ManifestRecord, ManifestRequirements, MetadataIndex, Page, ReferrerDescriptor, ReferrerRange } from './types.ts';

type Key = string[];

// Names, tags and digests are validated ASCII, so '\x7f' sorts after every value in a range.
const HIGH = '\x7f';

/** Options of {@link LmdbIndex}. */
export interface LmdbIndexOptions {
  /** Directory for the LMDB environment. */
  dir: string;
  /**
   * Other processes write this index while this one serves (`serve --workers`): before a cached tag or manifest is
   * trusted, the index's cache generation (advanced in every write that changes tags or manifests, by any process)
   * is read, so a read never misses a write another process has acknowledged. Off, the 1 s TTL bounds staleness.
   * @default false
   */
  shared?: boolean;
}

/** Key of the cache generation in the `meta` database. */
const CACHE_GENERATION = 'cache-generation';

/** {@link MetadataIndex} on LMDB. */
export class LmdbIndex implements MetadataIndex {
  private readonly root: RootDatabase;
  private readonly tags: Database<Digest, Key>;
  private readonly tagsByDigest: Database<true, Key>;
  private readonly manifests: Database<Uint8Array, Key>;
  /** [repository, digest] → when the link was made (ms; garbage collection's grace period reads it) and the size. */
  private readonly links: Database<LinkValue, Key>;
  private readonly linksByDigest: Database<true, Key>;
  private readonly referrers: LmdbReferrers;
  private readonly repositories: Database<true, string>;
  /** repository → generation: advanced by every manifest put, so GC knows whether its marks are still complete. */
  private readonly generations: Database<number, string>;
  /** [digest, token] → a hold (a commit or mount in flight) or a deletion claim, each with an expiry. */
  private readonly holds: LmdbBlobHolds;
  // Pull traffic reads the same few tags and manifests over and over; decoding them each time was a quarter of
  // a manifest HEAD's CPU. Cleared on every write here; 1 s TTL for writers in other processes.
  private readonly manifestCache = new ReadCache<ManifestRecord>(16 * 1024 * 1024, 1000, (r) => r.size + 256);
  private readonly tagCache = new ReadCache<Digest>(1024 * 1024, 1000, (d) => d.length);
  // Clients walking a tag list read the same pages; each page decoded a key per tag (most of a walk's CPU).
  private readonly tagPageCache = new ReadCache<Page>(4 * 1024 * 1024, 1000, (p) => 64 * (p.items.length + 1));
  // --- cross-process read cache (serve --workers) ---
  private readonly meta: Database<number, string>;
  private readonly shared: boolean;
  /** Keeps this process's commits apart from other processes opening the index (lmdb-open-gate.ts). */
  private readonly gate: LmdbOpenGate;
  /** The cache generation the read caches were filled under. */
  private cachedGeneration = -1;

  constructor(options: LmdbIndexOptions) {
    fs.mkdirSync(options.dir, { recursive: true });
    quietLmdb();
    const gateFile = path.resolve(options.dir, 'open-gate.sqlite');
    // Opening (and creating the tables, a commit) while no other process commits: see lmdb-open-gate.ts.
    const opened = LmdbOpenGate.whileOpening(gateFile, () => {
      const root = open({ path: path.join(options.dir, 'index.mdb'), maxDbs: 16, mapSize: 2 ** 34 });
      const db = <V>(name: string) => root.openDB<V, Key>({ name });
      return {
        root,
        tags: db<Digest>('tags'),
        tagsByDigest: db<true>('tags-by-digest'),
        manifests: root.openDB<Uint8Array, Key>({ name: 'manifests', encoding: 'binary' }),
        links: db<LinkValue>('links'),
        linksByDigest: db<true>('links-by-digest'),
        repositories: root.openDB<true, string>({ name: 'repositories' }),
        generations: root.openDB<number, string>({ name: 'generations' }),
        holds: new LmdbBlobHolds(db<BlobHold>('blob-holds')),
        referrers: new LmdbReferrers(root),
        meta: root.openDB<number, string>({ name: 'meta' }),
      };
    });
    this.gate = new LmdbOpenGate(gateFile);
    this.root = opened.root;
    this.tags = opened.tags;
    this.tagsByDigest = opened.tagsByDigest;
    this.manifests = opened.manifests;
    this.links = opened.links;
    this.linksByDigest = opened.linksByDigest;
    this.repositories = opened.repositories;
    this.generations = opened.generations;
    this.holds = opened.holds;
    this.referrers = opened.referrers;
    this.meta = opened.meta;
    this.shared = options.shared ?? false;
  }

  hasBlob(repository: string, digest: Digest): boolean {
    return this.links.doesExist([repository, digest]);
  }

  blobLink(repository: string, digest: Digest): { size?: number } | undefined {
    const value = this.links.get([repository, digest]);
    return value === undefined ? undefined : { size: linkSize(value) };
  }

  async recordBlobSize(repository: string, digest: Digest, size: number): Promise<void> {
    await this.write(() => {
      const current = this.links.get([repository, digest]);
      if (current !== undefined && linkSize(current) === undefined) this.links.put([repository, digest], linkValue(linkTime(current), size));
    }, { durable: false });
  }

  async linkBlob(repository: string, digest: Digest, hold?: string, size?: number): Promise<boolean> {
    return this.write(() => {
      const now = Date.now();
      if (hold !== undefined) {
        // A claim removes expired holds before it is granted: a hold still present means no deletion began.
        if (!this.holds.take(digest, hold)) return false;
      } else if (this.holds.deletionClaimed(digest, now)) return false;
      this.links.put([repository, digest], linkValue(now, size ?? linkSize(this.links.get([repository, digest]))));
      this.linksByDigest.put([digest, repository], true);
      this.repositories.put(repository, true);
      return true;
    });
  }

  async touchBlobLink(repository: string, digest: Digest, olderThan: number): Promise<boolean> {
    const at = this.links.get([repository, digest]);
    if (at === undefined) return false;
    if (linkTime(at) >= olderThan) return true;
    return this.write(() => {
      const current = this.links.get([repository, digest]);
      if (current === undefined) return false;
      this.links.put([repository, digest], linkValue(Date.now(), linkSize(current)));
      return true;
    }, { durable: false });
  }

  async unlinkBlob(repository: string, digest: Digest, ifUnused?: { linkedBefore: number; generation: number }): Promise<boolean> {
    return this.write(() => {
      const at = this.links.get([repository, digest]);
      if (at === undefined) return false;
      if (ifUnused) {
        if (linkTime(at) >= ifUnused.linkedBefore) return false;
        if (this.repositoryGeneration(repository) !== ifUnused.generation) return false;
      }
      this.links.remove([repository, digest]);
      this.linksByDigest.remove([digest, repository]);
      return true;
    });
  }

  repositoryGeneration(repository: string): number {
    return this.generations.get(repository) ?? 0;
  }

  async holdBlob(digest: Digest, ttlMs: number): Promise<string | undefined> {
    return this.write(() => {
      const now = Date.now();
      return this.holds.deletionClaimed(digest, now) ? undefined : this.holds.add(digest, 'hold', ttlMs, now);
    }, { durable: false });
  }

  async claimBlobDeletion(digest: Digest, ttlMs: number): Promise<string | undefined> {
    return this.write(() => {
      const now = Date.now();
      if (this.isBlobLinkedAnywhere(digest) || this.holds.live(digest, now).length) return undefined;
      return this.holds.add(digest, 'delete', ttlMs, now);
    }, { durable: false });
  }

  async releaseBlob(digest: Digest, token: string): Promise<void> {
    await this.write(() => this.holds.take(digest, token), { durable: false });
  }

  findBlobRepository(digest: Digest, except?: string): string | undefined {
    for (const key of this.linksByDigest.getKeys({ start: [digest], end: [digest, HIGH] })) {
      if (key[1] !== except) return key[1];
    }
    return undefined;
  }

  isBlobLinkedAnywhere(digest: Digest): boolean {
    return this.findBlobRepository(digest) !== undefined;
  }

  listBlobLinks(repository: string): { digest: Digest; linkedAt: number }[] {
    return [...this.links.getRange({ start: [repository], end: [repository, HIGH] })].map(({ key, value }) => ({
      digest: key[1] as Digest,
      linkedAt: linkTime(value),
    }));
  }

  listManifestDigests(repository: string): Digest[] {
    return [...this.manifests.getKeys({ start: [repository], end: [repository, HIGH] })].map((k) => k[1] as Digest);
  }

  getManifest(repository: string, digest: Digest): ManifestRecord | undefined {
    const key = `${repository}\0${digest}`;
    if (this.shared) this.followOtherWriters();
    const cached = this.manifestCache.get(key);
    if (cached) return cached;
    const stored = this.manifests.getBinary([repository, digest]);
    if (!stored) return undefined;
    const record = decodeManifestRecord(digest, stored);
    this.manifestCache.set(key, record);
    return record;
  }

  resolveTag(repository: string, tag: string): Digest | undefined {
    const key = `${repository}\0${tag}`;
    if (this.shared) this.followOtherWriters();
    const cached = this.tagCache.get(key);
    if (cached) return cached;
    const digest = this.tags.get([repository, tag]);
    if (digest) this.tagCache.set(key, digest);
    return digest;
  }

  async putManifest(repository: string, record: ManifestRecord, tags: string[], requires: ManifestRequirements): Promise<void> {
    const missing = await this.write(() => {
      // Checked inside the write transaction, so a concurrent delete cannot slip between check and write.
      const absent = [
        ...requires.blobs.filter((d) => !this.links.doesExist([repository, d])),
        ...requires.manifests.filter((d) => !this.manifests.doesExist([repository, d])),
      ];
      if (absent.length) return absent;
      const digest = record.digest;
      // The blobs are in use again: their links start a new grace period, and GC's marks of this repository are stale.
      const now = Date.now();
      for (const blob of requires.blobs) this.links.put([repository, blob], linkValue(now, linkSize(this.links.get([repository, blob]))));
      this.generations.put(repository, this.repositoryGeneration(repository) + 1);
      this.manifests.put([repository, digest], encodeManifestRecord(record));
      this.repositories.put(repository, true);
      for (const tag of tags) {
        const previous = this.tags.get([repository, tag]);
        if (previous) this.tagsByDigest.remove([repository, previous, tag]);
        this.tags.put([repository, tag], digest);
        this.tagsByDigest.put([repository, digest, tag], true);
      }
      if (record.subject) this.referrers.put(repository, record.subject, referrerOf(record));
      crashPoint('manifest-in-transaction');
      return [];
    }, { cached: true });
    if (missing.length) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references unknown blobs or manifests: ${missing.slice(0, 5).join(', ')}`, {
        detail: { missing },
      });
    }
  }

  async deleteManifest(repository: string, digest: Digest): Promise<boolean> {
    return this.write(() => {
      const value = this.manifests.getBinary([repository, digest]);
      if (!value) return false;
      const stored = decodeManifestRecord(digest, value);
      this.manifests.remove([repository, digest]);
      for (const key of [...this.tagsByDigest.getKeys({ start: [repository, digest], end: [repository, digest, HIGH] })]) {
        this.tags.remove([repository, key[2]!]);
        this.tagsByDigest.remove(key);
      }
      if (stored.subject) this.referrers.remove(repository, stored.subject, digest);
      return true;
    }, { cached: true });
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    return this.write(() => {
      const digest = this.tags.get([repository, tag]);
      if (!digest) return false;
      this.tags.remove([repository, tag]);
      this.tagsByDigest.remove([repository, digest, tag]);
      return true;
    }, { cached: true });
  }

  listTags(repository: string, options: { last?: string; limit: number }): Page {
    if (this.shared) this.followOtherWriters();
    const key = `${repository}\0${options.last ?? ''}\0${options.limit}`;
    let found = this.tagPageCache.get(key);
    if (!found) {
      found = page(this.tags.getKeys({ start: [repository, options.last ?? ''], end: [repository, HIGH] }).map((k) => k[1]!), options);
      this.tagPageCache.set(key, found);
    }
    // A copy: the caller may change its page, never the cached one.
    return { items: found.items.slice(), more: found.more };
  }

  tagsOf(repository: string, digest: Digest): string[] {
    return [...this.tagsByDigest.getKeys({ start: [repository, digest], end: [repository, digest, HIGH] })].map((k) => k[2]!);
  }

  listReferrers(repository: string, subject: Digest, artifactType?: string, range?: ReferrerRange): readonly ReferrerDescriptor[] {
    if (this.shared) this.followOtherWriters();
    return this.referrers.list(repository, subject, artifactType, range);
  }

  hasRepository(repository: string): boolean {
    const inRepo = { start: [repository], end: [repository, HIGH], limit: 1 };
    return [this.tags, this.manifests, this.links].some((db) => {
      for (const _ of db.getKeys(inRepo)) return true;
      return false;
    });
  }

  listRepositories(options: { last?: string; limit: number }): Page {
    const live = this.repositories.getKeys({ start: options.last ?? '' }).filter((name) => this.hasRepository(name));
    return page(live, options);
  }

  async close(): Promise<void> {
    await this.root.close();
    this.gate.close();
  }

  /**
   * Starts the next reads from the newest commit of any process. lmdb-js keeps one read snapshot until a timer
   * (setTimeout 0) renews it, so a busy process could read a snapshot from before a write another process has already
   * acknowledged; a server sharing the index calls this at the start of each request.
   */
  refresh(): void {
    this.root.resetReadTxn();
  }

  /** Empties the read caches when another process wrote tags or manifests since they were filled. */
  private followOtherWriters(): void {
    const generation = this.meta.get(CACHE_GENERATION) ?? 0;
    if (generation === this.cachedGeneration) return;
    this.forgetCached();
    this.cachedGeneration = generation;
  }

  /**
   * Runs `fn` in one write transaction; resolves once the commit is visible to every process, and with `durable`
   * (the default) once it is on disk. Holds and link touches need no durability: a crash ends them anyway.
   * `cached`: the write changes tags or manifests, which the read caches hold.
   */
  private async write<T>(fn: () => T, { durable = true, cached = false }: { durable?: boolean; cached?: boolean } = {}): Promise<T> {
    const leave = await this.gate.enter();
    let result: T;
    try {
      result = await this.transaction(fn, cached);
    } catch (error) {
      leave();
      throw error;
    }
    // The gate stays shut to openers until the commit is flushed, durable or not (lmdb-open-gate.ts).
    const flushed = Promise.resolve(this.root.flushed).finally(leave);
    if (durable) await flushed;
    else flushed.catch(() => {});
    return result;
  }

  private async transaction<T>(fn: () => T, cached: boolean): Promise<T> {
    if (!cached) return this.root.transaction(fn);
    // Before and after: no read may see the cache from before this write once the write is visible.
    this.forgetCached();
    // A failed commit (full disk) carries its real cause separately; bring it back for the error mapping.
    const result = await this.root.transaction(() => {
      const value = fn();
      this.meta.put(CACHE_GENERATION, (this.meta.get(CACHE_GENERATION) ?? 0) + 1);
      return value;
    }).catch(rethrowCommitFailure);
    this.forgetCached();
    return result;
  }

  private forgetCached(): void {
    this.manifestCache.clear();
    this.tagCache.clear();
    this.tagPageCache.clear();
    this.referrers.forget();
  }
}

/** Takes names strictly after `last`, at most `limit`, from names in order. */
function page(names: Iterable<string>, options: { last?: string; limit: number }): Page {
  const items: string[] = [];
  for (const name of names) {
    if (options.last !== undefined && name <= options.last) continue;
    if (items.length === options.limit) return { items, more: true };
    items.push(name);
  }
  return { items, more: false };
}
