/**
 * The mirror's cache ledger in PostgreSQL: tag freshness and cached images and blobs with their sizes and access
 * times, shared by every node, so one node's fill counts for all and eviction sees the whole cache.
 * `addImage` and `removeImage` of one repository take turns (a transaction-scoped advisory lock on the repository):
 * otherwise an image added on one node while another node removes an image sharing its blobs could find its blob
 * rows deleted under it.
 */
import type { CachedBlob, CachedImage, MirrorLedger } from './mirror-ledger.ts';
import { num, transaction, type Tx } from './pg-connect.ts';

type SQL = Bun.SQL;

const imageOf = (r: { repository: string; digest: string; size: unknown; last_access: unknown }): CachedImage => ({
  repository: r.repository, digest: r.digest, size: num(r.size), lastAccess: num(r.last_access),
});

async function lockRepository(tx: Tx, repository: string): Promise<void> {
  await tx`SELECT pg_advisory_xact_lock(2, hashtext(${repository}))`;
}

/** {@link MirrorLedger} on PostgreSQL (the `mirror_*` tables of the PG schema; see pg-migrations.ts). */
export class PgMirrorLedger implements MirrorLedger {
  /** @param release what `close` does with the pool (shared pools: a reference count); nothing by default */
  constructor(private readonly sql: SQL, private readonly release: () => Promise<void> = async () => {}) {}

  async tag(repository: string, tag: string): Promise<{ digest: string; checkedAt: number } | undefined> {
    const [row] = await this.sql`SELECT digest, checked_at FROM mirror_tags WHERE repository = ${repository} AND tag = ${tag}`;
    return row ? { digest: row.digest, checkedAt: num(row.checked_at) } : undefined;
  }
  async setTag(repository: string, tag: string, digest: string, at = Date.now()): Promise<void> {
    await this.sql`INSERT INTO mirror_tags (repository, tag, digest, checked_at) VALUES (${repository}, ${tag}, ${digest}, ${at})
      ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, checked_at = excluded.checked_at`;
  }
  async addImage(repository: string, digest: string, size: number, blobs: string[], at = Date.now()): Promise<void> {
    await transaction(this.sql, async (tx) => {
      await lockRepository(tx, repository);
      await tx`INSERT INTO mirror_images (repository, digest, size, last_access) VALUES (${repository}, ${digest}, ${size}, ${at})
        ON CONFLICT (repository, digest) DO UPDATE SET last_access = excluded.last_access`;
      if (blobs.length) {
        await tx`INSERT INTO mirror_image_blobs (repository, manifest, blob)
          SELECT ${repository}, ${digest}, b FROM unnest(${this.sql.array(blobs, 'TEXT')}::text[]) AS b ON CONFLICT DO NOTHING`;
      }
    });
  }
  async hasImage(repository: string, digest: string): Promise<boolean> {
    return (await this.sql`SELECT 1 FROM mirror_images WHERE repository = ${repository} AND digest = ${digest}`).length > 0;
  }
  async touchImage(repository: string, digest: string, at = Date.now()): Promise<void> {
    await this.sql`UPDATE mirror_images SET last_access = ${at} WHERE repository = ${repository} AND digest = ${digest}`;
  }
  async addBlob(repository: string, digest: string, size: number, at = Date.now()): Promise<void> {
    await this.sql`INSERT INTO mirror_blobs (repository, digest, size, last_access) VALUES (${repository}, ${digest}, ${size}, ${at})
      ON CONFLICT (repository, digest) DO UPDATE SET last_access = excluded.last_access`;
  }
  async touchBlob(repository: string, digest: string, at = Date.now()): Promise<void> {
    await this.sql`UPDATE mirror_blobs SET last_access = ${at} WHERE repository = ${repository} AND digest = ${digest}`;
  }
  async totalBytes(): Promise<number> {
    const [row] = await this.sql`SELECT (SELECT coalesce(sum(size), 0) FROM mirror_images) + (SELECT coalesce(sum(size), 0) FROM mirror_blobs) AS total`;
    return num(row.total);
  }
  /** Least recently used images first; an image's recency is its own or its newest blob's (pulling layers keeps it). */
  async leastRecentlyUsed(limit: number): Promise<CachedImage[]> {
    const rows = await this.sql`SELECT i.repository, i.digest, i.size,
        greatest(i.last_access, coalesce((SELECT max(b.last_access) FROM mirror_image_blobs ib JOIN mirror_blobs b
          ON b.repository = ib.repository AND b.digest = ib.blob
          WHERE ib.repository = i.repository AND ib.manifest = i.digest), 0)) AS last_access
      FROM mirror_images i ORDER BY last_access, i.repository, i.digest LIMIT ${Math.max(0, limit)}`;
    return rows.map(imageOf);
  }
  async allImages(): Promise<CachedImage[]> {
    const rows = await this.sql`SELECT repository, digest, size, last_access FROM mirror_images ORDER BY repository, digest`;
    return rows.map(imageOf);
  }
  async removeImage(repository: string, digest: string): Promise<{ digest: string }[]> {
    return transaction(this.sql, async (tx) => {
      await lockRepository(tx, repository);
      const referenced = await tx`DELETE FROM mirror_image_blobs WHERE repository = ${repository} AND manifest = ${digest} RETURNING blob`;
      await tx`DELETE FROM mirror_images WHERE repository = ${repository} AND digest = ${digest}`;
      await tx`DELETE FROM mirror_tags WHERE repository = ${repository} AND digest = ${digest}`;
      const blobs: string[] = referenced.map((r: { blob: string }) => r.blob);
      if (!blobs.length) return [];
      // Blobs no other cached image of the repository references are forgotten too; the caller unlinks them.
      const stillUsed = await tx`SELECT DISTINCT blob FROM mirror_image_blobs WHERE repository = ${repository}
        AND blob = ANY(${this.sql.array(blobs, 'TEXT')}::text[])`;
      const used = new Set(stillUsed.map((r: { blob: string }) => r.blob));
      const freed = [...new Set(blobs)].filter((blob) => !used.has(blob));
      if (freed.length) {
        await tx`DELETE FROM mirror_blobs WHERE repository = ${repository} AND digest = ANY(${this.sql.array(freed, 'TEXT')}::text[])`;
      }
      return freed.map((d) => ({ digest: d }));
    });
  }
  async orphanBlobs(limit: number): Promise<CachedBlob[]> {
    const rows = await this.sql`SELECT b.repository, b.digest, b.size FROM mirror_blobs b WHERE NOT EXISTS (
        SELECT 1 FROM mirror_image_blobs ib WHERE ib.repository = b.repository AND ib.blob = b.digest)
      ORDER BY b.last_access, b.repository, b.digest LIMIT ${Math.max(0, limit)}`;
    return rows.map((r: { repository: string; digest: string; size: unknown }) => ({ repository: r.repository, digest: r.digest, size: num(r.size) }));
  }
  async removeBlob(repository: string, digest: string): Promise<void> {
    await this.sql`DELETE FROM mirror_blobs WHERE repository = ${repository} AND digest = ${digest}`;
  }
  async close(): Promise<void> {
    await this.release();
  }
}
