/**
 * Manifests, tags and referrers of the PostgreSQL index. A manifest keeps its exact bytes (`bytea`); the referrers
 * of a subject are the manifests whose `subject` names it, so an edge lives and dies with its manifest row.
 *
 * A manifest put is one transaction that locks, in this order: the repository's row (`FOR UPDATE`: puts in one
 * repository and GC's unlinks there take turns, and the generation moves with every put), the links of the blobs it
 * requires (`FOR UPDATE`, in digest order: a concurrent unlink waits for the commit, or committed first and the put
 * reports the blob missing), and the manifests it requires (`FOR KEY SHARE`: a concurrent delete of one waits).
 * The requirements are checked after those locks, so what is checked is what is committed.
 */
import { RegistryError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import { num, transaction } from './pg-connect.ts';
import type { ManifestRecord, ManifestRequirements, Page, ReferrerDescriptor, ReferrerRange } from './types.ts';

type SQL = Bun.SQL;

interface ManifestRow {
  media_type: string;
  size: unknown;
  body: Uint8Array;
  artifact_type: string | null;
  subject: Digest | null;
  /** JSON text, as given (key order kept; Bun returns json columns as text anyway). */
  annotations: string | null;
}

/** The record of a stored manifest. */
export async function getManifest(sql: SQL, repository: string, digest: Digest): Promise<ManifestRecord | undefined> {
  const [row] = (await sql`SELECT media_type, size, body, artifact_type, subject, annotations FROM manifests
    WHERE repository = ${repository} AND digest = ${digest}`) as ManifestRow[];
  if (!row) return undefined;
  // Bun hands bytea over as a Buffer; callers get a plain view of the same bytes.
  const record: ManifestRecord = {
    digest, mediaType: row.media_type, size: num(row.size), body: new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength),
  };
  if (row.artifact_type !== null) record.artifactType = row.artifact_type;
  if (row.subject !== null) record.subject = row.subject;
  if (row.annotations !== null) record.annotations = JSON.parse(row.annotations) as Record<string, string>;
  return record;
}

/** Stores a manifest with its tags in one transaction (see MetadataIndex.putManifest). */
export async function putManifest(sql: SQL, repository: string, record: ManifestRecord, tags: string[], requires: ManifestRequirements): Promise<void> {
  const blobs = [...new Set(requires.blobs)].sort();
  const manifests = [...new Set(requires.manifests)].sort();
  const missing = await transaction(sql, async (tx) => {
    await tx`INSERT INTO repositories (name) VALUES (${repository}) ON CONFLICT DO NOTHING`;
    await tx`SELECT 1 FROM repositories WHERE name = ${repository} FOR UPDATE`;
    const linked = blobs.length
      ? await tx`SELECT digest FROM links WHERE repository = ${repository} AND digest = ANY(${sql.array(blobs, 'TEXT')}::text[])
          ORDER BY digest FOR UPDATE`
      : [];
    const stored = manifests.length
      ? await tx`SELECT digest FROM manifests WHERE repository = ${repository} AND digest = ANY(${sql.array(manifests, 'TEXT')}::text[])
          ORDER BY digest FOR KEY SHARE`
      : [];
    const have = new Set<string>([...linked, ...stored].map((r: { digest: string }) => r.digest));
    const absent = [...blobs, ...manifests].filter((d) => !have.has(d));
    if (absent.length) return absent;
    // The blobs are in use again: their links start a new grace period, and GC's marks of this repository are stale.
    if (blobs.length) {
      await tx`UPDATE links SET linked_at = ${Date.now()} WHERE repository = ${repository} AND digest = ANY(${sql.array(blobs, 'TEXT')}::text[])`;
    }
    await tx`UPDATE repositories SET generation = generation + 1 WHERE name = ${repository}`;
    const annotations = record.annotations === undefined ? null : JSON.stringify(record.annotations);
    await tx`INSERT INTO manifests (repository, digest, media_type, size, body, artifact_type, subject, annotations)
      VALUES (${repository}, ${record.digest}, ${record.mediaType}, ${record.size}, ${record.body}, ${record.artifactType ?? null},
              ${record.subject ?? null}, ${annotations})
      ON CONFLICT (repository, digest) DO UPDATE SET media_type = excluded.media_type, size = excluded.size, body = excluded.body,
        artifact_type = excluded.artifact_type, subject = excluded.subject, annotations = excluded.annotations`;
    for (const tag of new Set(tags)) {
      await tx`INSERT INTO tags (repository, tag, digest) VALUES (${repository}, ${tag}, ${record.digest})
        ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest`;
    }
    return [];
  });
  if (missing.length) {
    throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references unknown blobs or manifests: ${missing.slice(0, 5).join(', ')}`, {
      detail: { missing },
    });
  }
}

/** Deletes a manifest and its tags (its referrer edge goes with its row). */
export async function deleteManifest(sql: SQL, repository: string, digest: Digest): Promise<boolean> {
  return transaction(sql, async (tx) => {
    const deleted = await tx`DELETE FROM manifests WHERE repository = ${repository} AND digest = ${digest} RETURNING 1`;
    if (!deleted.length) return false;
    await tx`DELETE FROM tags WHERE repository = ${repository} AND digest = ${digest}`;
    return true;
  });
}

/** Deletes a tag. */
export async function deleteTag(sql: SQL, repository: string, tag: string): Promise<boolean> {
  const deleted = await transaction(sql, (tx) => tx`DELETE FROM tags WHERE repository = ${repository} AND tag = ${tag} RETURNING 1`);
  return deleted.length > 0;
}

/** The digest a tag points at. */
export async function resolveTag(sql: SQL, repository: string, tag: string): Promise<Digest | undefined> {
  const [row] = await sql`SELECT digest FROM tags WHERE repository = ${repository} AND tag = ${tag}`;
  return row?.digest;
}

/** Tags in byte order after `last`, at most `limit` (one more is read to know whether more follow). */
export async function listTags(sql: SQL, repository: string, options: { last?: string; limit: number }): Promise<Page> {
  const limit = Math.max(0, options.limit);
  const rows = await sql`SELECT tag FROM tags WHERE repository = ${repository} AND tag > ${options.last ?? ''}
    ORDER BY tag LIMIT ${limit + 1}`;
  const items = rows.map((r: { tag: string }) => r.tag);
  return { items: items.slice(0, limit), more: items.length > limit };
}

/** The tags pointing at a digest. */
export async function tagsOf(sql: SQL, repository: string, digest: Digest): Promise<string[]> {
  const rows = await sql`SELECT tag FROM tags WHERE repository = ${repository} AND digest = ${digest} ORDER BY tag`;
  return rows.map((r: { tag: string }) => r.tag);
}

/** The digests of a repository's manifests in digest order. */
export async function listManifestDigests(sql: SQL, repository: string): Promise<Digest[]> {
  const rows = await sql`SELECT digest FROM manifests WHERE repository = ${repository} ORDER BY digest`;
  return rows.map((r: { digest: Digest }) => r.digest);
}

/** Referrers of a subject in digest order, optionally of one artifact type, after `range.after`, at most `range.limit`. */
export async function listReferrers(sql: SQL, repository: string, subject: Digest, artifactType?: string, range: ReferrerRange = {}): Promise<ReferrerDescriptor[]> {
  const after = range.after ?? '';
  // LIMIT ALL when unbounded: PostgreSQL reads `LIMIT NULL` as no limit.
  const limit = range.limit === undefined ? null : Math.max(0, range.limit);
  const rows = (artifactType === undefined
    ? await sql`SELECT digest, media_type, size, artifact_type, annotations FROM manifests
        WHERE repository = ${repository} AND subject = ${subject} AND digest > ${after} ORDER BY digest LIMIT ${limit}`
    : await sql`SELECT digest, media_type, size, artifact_type, annotations FROM manifests
        WHERE repository = ${repository} AND subject = ${subject} AND artifact_type = ${artifactType} AND digest > ${after}
        ORDER BY digest LIMIT ${limit}`) as (ManifestRow & { digest: Digest })[];
  return rows.map((row) => {
    const d: ReferrerDescriptor = { mediaType: row.media_type, digest: row.digest, size: num(row.size) };
    if (row.artifact_type !== null) d.artifactType = row.artifact_type;
    if (row.annotations !== null) d.annotations = JSON.parse(row.annotations) as Record<string, string>;
    return d;
  });
}
