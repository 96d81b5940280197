/**
 * Blob links, holds and deletion claims of the PostgreSQL index.
 *
 * Races that matter, and how they are closed (READ COMMITTED: every statement sees what committed before it began):
 * - A hold or link against a deletion claim of the same blob: every step that checks holds, claims or links of a
 *   digest first takes a transaction-scoped advisory lock on that digest, so check-then-write runs one at a time
 *   per digest on every node, and the check (a fresh statement after the lock) sees the other's commit.
 * - GC's unlink against a manifest put in the same repository: both lock the repository's row first
 *   (`SELECT … FOR UPDATE`), so the unlink re-reads the generation the put advanced and refuses, or the put finds
 *   the link gone and reports it missing.
 *
 * Expiries of holds and claims are on the database's clock (`marina_now_ms()`); link times are the writing node's
 * `Date.now()`, as garbage collection compares them with its own cutoff.
 */
import type { Digest } from '../oci/digest.ts';
import { num, transaction, type Tx } from './pg-connect.ts';

type SQL = Bun.SQL;

/** Serializes hold, claim and link checks of one digest across every node until the transaction ends. */
export async function lockDigest(tx: Tx, digest: Digest): Promise<void> {
  // The two-int form keeps digest locks apart from the migration lock (a bigint key).
  await tx`SELECT pg_advisory_xact_lock(1, hashtext(${digest}))`;
}

/** Removes the expired holds and claims of a digest (inside a transaction holding its digest lock). */
async function dropExpired(tx: Tx, digest: Digest): Promise<void> {
  await tx`DELETE FROM blob_holds WHERE digest = ${digest} AND until <= marina_now_ms()`;
}

/** Links a blob (see MetadataIndex.linkBlob). */
export async function linkBlob(sql: SQL, repository: string, digest: Digest, hold: string | undefined, size: number | undefined): Promise<boolean> {
  return transaction(sql, async (tx) => {
    await lockDigest(tx, digest);
    if (hold !== undefined) {
      // A claim removes expired holds before it is granted: a hold still present means no deletion began.
      const taken = await tx`DELETE FROM blob_holds WHERE digest = ${digest} AND token = ${hold} RETURNING 1`;
      if (!taken.length) return false;
    } else {
      const claims = await tx`SELECT 1 FROM blob_holds WHERE digest = ${digest} AND kind = 'delete' AND until > marina_now_ms() LIMIT 1`;
      if (claims.length) return false;
    }
    await tx`INSERT INTO repositories (name) VALUES (${repository}) ON CONFLICT DO NOTHING`;
    await tx`INSERT INTO links (repository, digest, linked_at, size) VALUES (${repository}, ${digest}, ${Date.now()}, ${size ?? null})
      ON CONFLICT (repository, digest) DO UPDATE SET linked_at = excluded.linked_at, size = coalesce(excluded.size, links.size)`;
    return true;
  });
}

/** Refreshes an old link's time (see MetadataIndex.touchBlobLink). */
export async function touchBlobLink(sql: SQL, repository: string, digest: Digest, olderThan: number): Promise<boolean> {
  const [row] = await sql`SELECT linked_at FROM links WHERE repository = ${repository} AND digest = ${digest}`;
  if (!row) return false;
  if (num(row.linked_at) >= olderThan) return true;
  const touched = await transaction(sql, (tx) =>
    tx`UPDATE links SET linked_at = ${Date.now()} WHERE repository = ${repository} AND digest = ${digest} RETURNING 1`, { durable: false });
  return touched.length > 0;
}

/** Unlinks a blob, with GC's re-check when `ifUnused` is given (see MetadataIndex.unlinkBlob). */
export async function unlinkBlob(sql: SQL, repository: string, digest: Digest, ifUnused?: { linkedBefore: number; generation: number }): Promise<boolean> {
  return transaction(sql, async (tx) => {
    if (ifUnused) {
      // The repository row first, as putManifest locks it: whichever commits first, the other sees its result.
      const [repo] = await tx`SELECT generation FROM repositories WHERE name = ${repository} FOR UPDATE`;
      if (num(repo?.generation ?? 0) !== ifUnused.generation) return false;
      const deleted = await tx`DELETE FROM links WHERE repository = ${repository} AND digest = ${digest}
        AND linked_at < ${ifUnused.linkedBefore} RETURNING 1`;
      return deleted.length > 0;
    }
    const deleted = await tx`DELETE FROM links WHERE repository = ${repository} AND digest = ${digest} RETURNING 1`;
    return deleted.length > 0;
  });
}

/** Holds a blob against deletion (see MetadataIndex.holdBlob). */
export async function holdBlob(sql: SQL, digest: Digest, ttlMs: number): Promise<string | undefined> {
  return transaction(sql, async (tx) => {
    await lockDigest(tx, digest);
    await dropExpired(tx, digest);
    const claims = await tx`SELECT 1 FROM blob_holds WHERE digest = ${digest} AND kind = 'delete' LIMIT 1`;
    if (claims.length) return undefined;
    const token = crypto.randomUUID();
    await tx`INSERT INTO blob_holds (digest, token, kind, until) VALUES (${digest}, ${token}, 'hold', marina_now_ms() + ${ttlMs})`;
    return token;
  }, { durable: false });
}

/** Claims the deletion of a blob's file (see MetadataIndex.claimBlobDeletion). */
export async function claimBlobDeletion(sql: SQL, digest: Digest, ttlMs: number): Promise<string | undefined> {
  return transaction(sql, async (tx) => {
    await lockDigest(tx, digest);
    await dropExpired(tx, digest);
    const busy = await tx`SELECT (EXISTS (SELECT 1 FROM links WHERE digest = ${digest})
      OR EXISTS (SELECT 1 FROM blob_holds WHERE digest = ${digest})) AS busy`;
    if (busy[0].busy) return undefined;
    const token = crypto.randomUUID();
    await tx`INSERT INTO blob_holds (digest, token, kind, until) VALUES (${digest}, ${token}, 'delete', marina_now_ms() + ${ttlMs})`;
    return token;
    // Durable, unlike a hold: the database may crash while the collector lives on and deletes the file, and a claim
    // lost with it would let another node link the blob meanwhile. A lost hold is noticed (linkBlob answers false).
  });
}

/** Ends a hold or a claim. */
export async function releaseBlob(sql: SQL, digest: Digest, token: string): Promise<void> {
  await transaction(sql, (tx) => tx`DELETE FROM blob_holds WHERE digest = ${digest} AND token = ${token}`, { durable: false });
}

/** The link of a blob in a repository. */
export async function blobLink(sql: SQL, repository: string, digest: Digest): Promise<{ size?: number } | undefined> {
  const [row] = await sql`SELECT size FROM links WHERE repository = ${repository} AND digest = ${digest}`;
  if (!row) return undefined;
  return row.size === null ? {} : { size: num(row.size) };
}

/** A repository other than `except` that links the blob. */
export async function findBlobRepository(sql: SQL, digest: Digest, except?: string): Promise<string | undefined> {
  const [row] = except === undefined
    ? await sql`SELECT repository FROM links WHERE digest = ${digest} ORDER BY repository LIMIT 1`
    : await sql`SELECT repository FROM links WHERE digest = ${digest} AND repository <> ${except} ORDER BY repository LIMIT 1`;
  return row?.repository;
}

/** The links of a repository in digest order. */
export async function listBlobLinks(sql: SQL, repository: string): Promise<{ digest: Digest; linkedAt: number }[]> {
  const rows = await sql`SELECT digest, linked_at FROM links WHERE repository = ${repository} ORDER BY digest`;
  return rows.map((r: { digest: Digest; linked_at: unknown }) => ({ digest: r.digest, linkedAt: num(r.linked_at) }));
}
