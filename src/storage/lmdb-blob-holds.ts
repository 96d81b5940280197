/**
 * Holds and deletion claims of blobs in the LMDB index: `[digest, token] → { kind, until }`. Every method runs
 * inside the caller's write transaction, so each check and the write that follows it are one atomic step for
 * every process sharing the environment.
 */
import type { Database } from 'lmdb';
import type { Digest } from '../oci/digest.ts';

/** A hold on a blob (a commit or mount in flight) or a claim to delete its file, valid until `until` (ms). */
export interface BlobHold {
  kind: 'hold' | 'delete';
  until: number;
}

// Digests and tokens are ASCII, so '\x7f' sorts after every token of a digest.
const HIGH = '\x7f';

/** The holds table of an {@link LmdbIndex}. */
export class LmdbBlobHolds {
  constructor(private readonly db: Database<BlobHold, string[]>) {}

  /** Unexpired holds and claims of a blob; expired ones are removed on the way. */
  live(digest: Digest, now: number): BlobHold[] {
    const live: BlobHold[] = [];
    const expired: string[][] = [];
    for (const { key, value } of this.db.getRange({ start: [digest], end: [digest, HIGH] })) {
      if (value.until > now) live.push(value);
      else expired.push(key);
    }
    for (const key of expired) this.db.remove(key);
    return live;
  }

  /** True while an unexpired deletion claim exists. */
  deletionClaimed(digest: Digest, now: number): boolean {
    return this.live(digest, now).some((h) => h.kind === 'delete');
  }

  /** Adds a hold or claim and returns its token. */
  add(digest: Digest, kind: BlobHold['kind'], ttlMs: number, now: number): string {
    const token = crypto.randomUUID();
    this.db.put([digest, token], { kind, until: now + ttlMs });
    return token;
  }

  /** Removes a hold or claim; false when it was no longer there (a claim removed it once it had expired). */
  take(digest: Digest, token: string): boolean {
    if (!this.db.doesExist([digest, token])) return false;
    this.db.remove([digest, token]);
    return true;
  }
}
