/**
 * Referrer edges in the LMDB index, stored twice so every listing is one key range read up to a page:
 * `[repository, subject, digest]` for the unfiltered list, and `[repository, subject, artifactType, digest]` for the
 * list filtered by artifact type (nothing is decoded only to be thrown away). Values are JSON: lmdb's default
 * msgpack stores each record's structure beside it and rebuilt a reader per value (most of a listing's CPU).
 * Writes run inside the caller's write transaction, so both tables change together.
 */
import type { Database, RootDatabase } from 'lmdb';
import type { Digest } from '../oci/digest.ts';
import { ReadCache } from './read-cache.ts';
import type { ReferrerDescriptor, ReferrerRange } from './types.ts';

type Key = string[];

// Names, media types and digests are validated ASCII, so '\x7f' sorts after every value in a range.
const HIGH = '\x7f';

/** The referrers tables of an {@link LmdbIndex}. */
export class LmdbReferrers {
  private readonly all: Database<ReferrerDescriptor, Key>;
  private readonly byType: Database<ReferrerDescriptor, Key>;
  // Signature and SBOM lookups ask for the same lists over and over. Callers share the cached lists (frozen, so the
  // HTTP layer can keep each one's encoded body). Cleared by the index on every manifest write; 1 s TTL for writers
  // in other processes.
  private readonly cache = new ReadCache<readonly ReferrerDescriptor[]>(4 * 1024 * 1024, 1000, (list) => 256 * (list.length + 1));

  constructor(root: RootDatabase) {
    this.all = root.openDB<ReferrerDescriptor, Key>({ name: 'referrer-edges', encoding: 'json' });
    this.byType = root.openDB<ReferrerDescriptor, Key>({ name: 'referrers-by-type', encoding: 'json' });
    // Stores written before these tables kept one msgpack table: move its edges over once, in one transaction.
    const legacy = root.openDB<ReferrerDescriptor, Key>({ name: 'referrers' });
    if (legacy.getKeysCount({ limit: 1 }) > 0) {
      root.transactionSync(() => {
        for (const { key, value } of [...legacy.getRange()]) {
          this.put(key[0]!, key[1] as Digest, value);
          legacy.remove(key);
        }
      });
    }
  }

  /** Adds the edge subject ← descriptor (in a write transaction). */
  put(repository: string, subject: Digest, descriptor: ReferrerDescriptor): void {
    this.all.put([repository, subject, descriptor.digest], descriptor);
    this.putByType(repository, subject, descriptor);
  }

  /** Removes the edge subject ← digest (in a write transaction). */
  remove(repository: string, subject: Digest, digest: Digest): void {
    const stored = this.all.get([repository, subject, digest]);
    this.all.remove([repository, subject, digest]);
    if (stored?.artifactType !== undefined) this.byType.remove([repository, subject, stored.artifactType, digest]);
  }

  /** Forgets cached lists (after any write that may change them). */
  forget(): void {
    this.cache.clear();
  }

  /** Referrers in digest order after `range.after`, at most `range.limit`, optionally of one artifact type. */
  list(repository: string, subject: Digest, artifactType: string | undefined, range: ReferrerRange = {}): readonly ReferrerDescriptor[] {
    const key = `${repository}\0${subject}\0${artifactType ?? ''}\0${range.after ?? ''}\0${range.limit ?? ''}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const list = this.read(repository, subject, artifactType, range);
    for (const descriptor of list) Object.freeze(descriptor);
    this.cache.set(key, Object.freeze(list));
    return list;
  }

  private read(repository: string, subject: Digest, artifactType: string | undefined, range: ReferrerRange): ReferrerDescriptor[] {
    const prefix = artifactType === undefined ? [repository, subject] : [repository, subject, artifactType];
    const limit = range.limit ?? Number.MAX_SAFE_INTEGER;
    const db = artifactType === undefined ? this.all : this.byType;
    const out: ReferrerDescriptor[] = [];
    if (limit <= 0) return out;
    // `start` is inclusive: the entry equal to `after` is skipped below.
    const start = range.after === undefined ? prefix : [...prefix, range.after];
    for (const { key, value } of db.getRange({ start, end: [...prefix, HIGH] })) {
      if (key[prefix.length] === range.after) continue;
      out.push(value);
      if (out.length === limit) break;
    }
    return out;
  }

  private putByType(repository: string, subject: Digest, descriptor: ReferrerDescriptor): void {
    if (descriptor.artifactType !== undefined) this.byType.put([repository, subject, descriptor.artifactType, descriptor.digest], descriptor);
  }
}
