/**
 * The mirror's cache ledger (bun:sqlite): tag freshness, cached images with their blobs, sizes and access times.
 * It lives in the data directory, so a restart neither forgets freshness nor stampedes the upstream.
 */
import type { Database } from 'bun:sqlite';
import type { CachedBlob, CachedImage, MirrorLedger } from '../storage/mirror-ledger.ts';
import { openSqlite } from '../storage/sqlite.ts';

export type { CachedBlob, CachedImage, MirrorLedger } from '../storage/mirror-ledger.ts';

/** {@link MirrorLedger} in a SQLite file (WAL), shared by the processes serving one data directory. */
export class SqliteMirrorLedger implements MirrorLedger {
  private readonly db: Database;
  private readonly q;

  constructor(file: string) {
    this.db = openSqlite(file);
    this.db.run(`CREATE TABLE IF NOT EXISTS tags (
      repository TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, checked_at INTEGER NOT NULL,
      PRIMARY KEY (repository, tag))`);
    this.db.run(`CREATE TABLE IF NOT EXISTS images (
      repository TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL, last_access INTEGER NOT NULL,
      PRIMARY KEY (repository, digest))`);
    this.db.run('CREATE INDEX IF NOT EXISTS images_lru ON images (last_access)');
    this.db.run(`CREATE TABLE IF NOT EXISTS image_blobs (
      repository TEXT NOT NULL, manifest TEXT NOT NULL, blob TEXT NOT NULL, PRIMARY KEY (repository, manifest, blob))`);
    this.db.run('CREATE INDEX IF NOT EXISTS image_blobs_blob ON image_blobs (repository, blob)');
    this.db.run(`CREATE TABLE IF NOT EXISTS blobs (
      repository TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL, last_access INTEGER NOT NULL,
      PRIMARY KEY (repository, digest))`);
    this.q = {
      tag: this.db.query<{ digest: string; checkedAt: number }, { repository: string; tag: string }>(
        'SELECT digest, checked_at AS checkedAt FROM tags WHERE repository = $repository AND tag = $tag'),
      setTag: this.db.query('INSERT OR REPLACE INTO tags (repository, tag, digest, checked_at) VALUES ($repository, $tag, $digest, $at)'),
      addImage: this.db.query(`INSERT INTO images (repository, digest, size, last_access) VALUES ($repository, $digest, $size, $at)
        ON CONFLICT (repository, digest) DO UPDATE SET last_access = $at`),
      hasImage: this.db.query<{ one: number }, { repository: string; digest: string }>('SELECT 1 AS one FROM images WHERE repository = $repository AND digest = $digest'),
      touchImage: this.db.query('UPDATE images SET last_access = $at WHERE repository = $repository AND digest = $digest'),
      addImageBlob: this.db.query('INSERT OR IGNORE INTO image_blobs (repository, manifest, blob) VALUES ($repository, $manifest, $blob)'),
      addBlob: this.db.query(`INSERT INTO blobs (repository, digest, size, last_access) VALUES ($repository, $digest, $size, $at)
        ON CONFLICT (repository, digest) DO UPDATE SET last_access = $at`),
      touchBlob: this.db.query('UPDATE blobs SET last_access = $at WHERE repository = $repository AND digest = $digest'),
      total: this.db.query<{ total: number }, []>(
        'SELECT (SELECT COALESCE(SUM(size), 0) FROM images) + (SELECT COALESCE(SUM(size), 0) FROM blobs) AS total'),
      // An image's recency is its own or its newest blob's, so pulling layers keeps the image alive.
      lru: this.db.query<CachedImage, { limit: number }>(`
        SELECT i.repository, i.digest, i.size,
               MAX(i.last_access, COALESCE((SELECT MAX(b.last_access) FROM image_blobs ib JOIN blobs b
                 ON b.repository = ib.repository AND b.digest = ib.blob
                 WHERE ib.repository = i.repository AND ib.manifest = i.digest), 0)) AS lastAccess
        FROM images i ORDER BY lastAccess ASC LIMIT $limit`),
      imageBlobs: this.db.query<{ blob: string }, { repository: string; manifest: string }>(
        'SELECT blob FROM image_blobs WHERE repository = $repository AND manifest = $manifest'),
      blobUsers: this.db.query<{ n: number }, { repository: string; blob: string }>(
        'SELECT COUNT(*) AS n FROM image_blobs WHERE repository = $repository AND blob = $blob'),
      removeImage: this.db.query('DELETE FROM images WHERE repository = $repository AND digest = $digest'),
      removeImageBlobs: this.db.query('DELETE FROM image_blobs WHERE repository = $repository AND manifest = $manifest'),
      removeBlob: this.db.query('DELETE FROM blobs WHERE repository = $repository AND digest = $digest'),
      removeTagsOf: this.db.query('DELETE FROM tags WHERE repository = $repository AND digest = $digest'),
      orphanBlobs: this.db.query<CachedBlob, { limit: number }>(`
        SELECT b.repository, b.digest, b.size FROM blobs b WHERE NOT EXISTS (
          SELECT 1 FROM image_blobs ib WHERE ib.repository = b.repository AND ib.blob = b.digest)
        ORDER BY b.last_access ASC LIMIT $limit`),
      images: this.db.query<CachedImage, []>('SELECT repository, digest, size, last_access AS lastAccess FROM images ORDER BY repository, digest'),
    };
  }

  /** The digest a tag had when last checked upstream, and when. */
  tag(repository: string, tag: string): { digest: string; checkedAt: number } | undefined {
    return this.q.tag.get({ repository, tag }) ?? undefined;
  }
  setTag(repository: string, tag: string, digest: string, at = Date.now()): void {
    this.q.setTag.run({ repository, tag, digest, at });
  }
  /** Records a cached manifest and the blobs it references. */
  addImage(repository: string, digest: string, size: number, blobs: string[], at = Date.now()): void {
    this.db.transaction(() => {
      this.q.addImage.run({ repository, digest, size, at });
      for (const blob of blobs) this.q.addImageBlob.run({ repository, manifest: digest, blob });
    })();
  }
  /** True when the image is recorded as mirrored content. */
  hasImage(repository: string, digest: string): boolean {
    return this.q.hasImage.get({ repository, digest }) !== null;
  }
  touchImage(repository: string, digest: string, at = Date.now()): void {
    this.q.touchImage.run({ repository, digest, at });
  }
  addBlob(repository: string, digest: string, size: number, at = Date.now()): void {
    this.q.addBlob.run({ repository, digest, size, at });
  }
  touchBlob(repository: string, digest: string, at = Date.now()): void {
    this.q.touchBlob.run({ repository, digest, at });
  }
  /** Bytes of mirrored content recorded. */
  totalBytes(): number {
    return this.q.total.get()?.total ?? 0;
  }
  /** Least recently used images first. */
  leastRecentlyUsed(limit: number): CachedImage[] {
    return this.q.lru.all({ limit });
  }
  /** Every cached image. */
  allImages(): CachedImage[] {
    return this.q.images.all();
  }
  /**
   * Forgets an image and returns the blobs no other cached image of the repository still references
   * (the caller unlinks those).
   */
  removeImage(repository: string, digest: string): { digest: string }[] {
    return this.db.transaction(() => {
      const blobs = this.q.imageBlobs.all({ repository, manifest: digest }).map((r) => r.blob);
      this.q.removeImageBlobs.run({ repository, manifest: digest });
      this.q.removeImage.run({ repository, digest });
      this.q.removeTagsOf.run({ repository, digest });
      const freed = blobs.filter((blob) => (this.q.blobUsers.get({ repository, blob })?.n ?? 0) === 0);
      for (const blob of freed) this.q.removeBlob.run({ repository, digest: blob });
      return freed.map((d) => ({ digest: d }));
      // IMMEDIATE: a read-first deferred transaction cannot wait for another process's write (SQLITE_BUSY at once).
    }).immediate();
  }
  /** Blobs cached on their own (no cached image references them), oldest first. */
  orphanBlobs(limit: number): CachedBlob[] {
    return this.q.orphanBlobs.all({ limit });
  }
  removeBlob(repository: string, digest: string): void {
    this.q.removeBlob.run({ repository, digest });
  }
  close(): void {
    this.db.close();
  }
}
