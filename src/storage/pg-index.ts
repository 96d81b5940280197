/**
 * The metadata index in PostgreSQL, for several nodes sharing one registry. No read cache: every read asks the
 * database, so a node never answers from state another node has changed (a loopback query costs tens of µs).
 * Writes resolve after PostgreSQL's commit (synchronous_commit on: flushed to its WAL), except holds and link
 * touches, which a crash ends anyway. See pg-links.ts and pg-manifests.ts for the locking of each write.
 */
import type { Digest } from '../oci/digest.ts';
import { num, openPg, type PgOptions } from './pg-connect.ts';
import * as links from './pg-links.ts';
import * as manifests from './pg-manifests.ts';
import { migrate } from './pg-migrations.ts';
import type { ManifestRecord, ManifestRequirements, MetadataIndex, Page, ReferrerDescriptor, ReferrerRange } from './types.ts';

type SQL = Bun.SQL;

/** {@link MetadataIndex} on PostgreSQL. */
export class PgIndex implements MetadataIndex {
  /**
   * @param sql a pool, possibly shared with the other PG stores of this node (see {@link openPg})
   * @param release what `close` does with the pool (shared pools: a reference count); nothing by default
   */
  constructor(private readonly sql: SQL, private readonly release: () => Promise<void> = async () => {}) {}

  /** Opens a pool for `options.url`, applies the schema migrations, and returns an index that owns the pool. */
  static async open(options: PgOptions): Promise<PgIndex> {
    const sql = openPg(options);
    try {
      await migrate(sql);
    } catch (error) {
      await sql.close({ timeout: 1 });
      throw error;
    }
    return new PgIndex(sql, () => sql.close({ timeout: 5 }));
  }

  async hasBlob(repository: string, digest: Digest): Promise<boolean> {
    return (await this.sql`SELECT 1 FROM links WHERE repository = ${repository} AND digest = ${digest}`).length > 0;
  }
  blobLink(repository: string, digest: Digest): Promise<{ size?: number } | undefined> {
    return links.blobLink(this.sql, repository, digest);
  }
  async recordBlobSize(repository: string, digest: Digest, size: number): Promise<void> {
    await this.sql`UPDATE links SET size = ${size} WHERE repository = ${repository} AND digest = ${digest} AND size IS NULL`;
  }
  linkBlob(repository: string, digest: Digest, hold?: string, size?: number): Promise<boolean> {
    return links.linkBlob(this.sql, repository, digest, hold, size);
  }
  touchBlobLink(repository: string, digest: Digest, olderThan: number): Promise<boolean> {
    return links.touchBlobLink(this.sql, repository, digest, olderThan);
  }
  unlinkBlob(repository: string, digest: Digest, ifUnused?: { linkedBefore: number; generation: number }): Promise<boolean> {
    return links.unlinkBlob(this.sql, repository, digest, ifUnused);
  }
  async repositoryGeneration(repository: string): Promise<number> {
    const [row] = await this.sql`SELECT generation FROM repositories WHERE name = ${repository}`;
    return num(row?.generation ?? 0);
  }
  findBlobRepository(digest: Digest, except?: string): Promise<string | undefined> {
    return links.findBlobRepository(this.sql, digest, except);
  }
  async isBlobLinkedAnywhere(digest: Digest): Promise<boolean> {
    return (await this.sql`SELECT 1 FROM links WHERE digest = ${digest} LIMIT 1`).length > 0;
  }
  listBlobLinks(repository: string): Promise<{ digest: Digest; linkedAt: number }[]> {
    return links.listBlobLinks(this.sql, repository);
  }
  holdBlob(digest: Digest, ttlMs: number): Promise<string | undefined> {
    return links.holdBlob(this.sql, digest, ttlMs);
  }
  claimBlobDeletion(digest: Digest, ttlMs: number): Promise<string | undefined> {
    return links.claimBlobDeletion(this.sql, digest, ttlMs);
  }
  releaseBlob(digest: Digest, token: string): Promise<void> {
    return links.releaseBlob(this.sql, digest, token);
  }
  listManifestDigests(repository: string): Promise<Digest[]> {
    return manifests.listManifestDigests(this.sql, repository);
  }
  getManifest(repository: string, digest: Digest): Promise<ManifestRecord | undefined> {
    return manifests.getManifest(this.sql, repository, digest);
  }
  resolveTag(repository: string, tag: string): Promise<Digest | undefined> {
    return manifests.resolveTag(this.sql, repository, tag);
  }
  putManifest(repository: string, record: ManifestRecord, tags: string[], requires: ManifestRequirements): Promise<void> {
    return manifests.putManifest(this.sql, repository, record, tags, requires);
  }
  deleteManifest(repository: string, digest: Digest): Promise<boolean> {
    return manifests.deleteManifest(this.sql, repository, digest);
  }
  deleteTag(repository: string, tag: string): Promise<boolean> {
    return manifests.deleteTag(this.sql, repository, tag);
  }
  listTags(repository: string, options: { last?: string; limit: number }): Promise<Page> {
    return manifests.listTags(this.sql, repository, options);
  }
  tagsOf(repository: string, digest: Digest): Promise<string[]> {
    return manifests.tagsOf(this.sql, repository, digest);
  }
  listReferrers(repository: string, subject: Digest, artifactType?: string, range?: ReferrerRange): Promise<readonly ReferrerDescriptor[]> {
    return manifests.listReferrers(this.sql, repository, subject, artifactType, range);
  }
  async hasRepository(repository: string): Promise<boolean> {
    const [row] = await this.sql`SELECT (EXISTS (SELECT 1 FROM links WHERE repository = ${repository})
      OR EXISTS (SELECT 1 FROM manifests WHERE repository = ${repository})
      OR EXISTS (SELECT 1 FROM tags WHERE repository = ${repository})) AS present`;
    return Boolean(row.present);
  }
  /** Repositories that hold anything, in byte order after `last`, at most `limit`. */
  async listRepositories(options: { last?: string; limit: number }): Promise<Page> {
    const limit = Math.max(0, options.limit);
    const rows = await this.sql`SELECT name FROM repositories r WHERE name > ${options.last ?? ''}
      AND (EXISTS (SELECT 1 FROM links WHERE repository = r.name) OR EXISTS (SELECT 1 FROM manifests WHERE repository = r.name)
        OR EXISTS (SELECT 1 FROM tags WHERE repository = r.name))
      ORDER BY name LIMIT ${limit + 1}`;
    const items = rows.map((r: { name: string }) => r.name);
    return { items: items.slice(0, limit), more: items.length > limit };
  }
  async close(): Promise<void> {
    await this.release();
  }
}
