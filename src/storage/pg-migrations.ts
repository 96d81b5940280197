/**
 * The PostgreSQL schema, as numbered migrations applied at start-up. Each migration runs in its own transaction
 * that first takes one advisory lock, so nodes starting together apply each migration once: the second waits for
 * the lock, then finds the version recorded in `schema_migrations` and skips it. A database migrated by a newer
 * Marina (an unknown version) is refused rather than written with an older idea of the schema.
 *
 * Every name, tag, digest and key column is `COLLATE "C"`: listings page in byte order, as LMDB's keys do, whatever
 * collation the database was created with (a locale collation would order `a-b` and `a_b` by language rules).
 */
import { transaction } from './pg-connect.ts';

type SQL = Bun.SQL;

/** One schema step. Never edit a released one: add the next. */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/** The schema, oldest first. */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'metadata index, upload ledger, locks',
    statements: [
      // The database's clock in ms: every node compares hold and lease expiries against this one clock.
      `CREATE FUNCTION marina_now_ms() RETURNS int8 LANGUAGE sql VOLATILE
         AS 'SELECT (extract(epoch from clock_timestamp()) * 1000)::int8'`,
      `CREATE TABLE repositories (
         name text COLLATE "C" PRIMARY KEY,
         generation int8 NOT NULL DEFAULT 0)`,
      `CREATE TABLE links (
         repository text COLLATE "C" NOT NULL,
         digest text COLLATE "C" NOT NULL,
         linked_at int8 NOT NULL,
         size int8,
         PRIMARY KEY (repository, digest))`,
      'CREATE INDEX links_by_digest ON links (digest, repository)',
      `CREATE TABLE manifests (
         repository text COLLATE "C" NOT NULL,
         digest text COLLATE "C" NOT NULL,
         media_type text NOT NULL,
         size int8 NOT NULL,
         body bytea NOT NULL,
         artifact_type text COLLATE "C",
         subject text COLLATE "C",
         annotations text,
         PRIMARY KEY (repository, digest))`,
      // The referrers of a subject are the manifests naming it: one edge per manifest, gone with it.
      'CREATE INDEX manifests_by_subject ON manifests (repository, subject, digest) WHERE subject IS NOT NULL',
      'CREATE INDEX manifests_by_subject_type ON manifests (repository, subject, artifact_type, digest) WHERE subject IS NOT NULL',
      `CREATE TABLE tags (
         repository text COLLATE "C" NOT NULL,
         tag text COLLATE "C" NOT NULL,
         digest text COLLATE "C" NOT NULL,
         PRIMARY KEY (repository, tag))`,
      'CREATE INDEX tags_by_digest ON tags (repository, digest, tag)',
      `CREATE TABLE blob_holds (
         digest text COLLATE "C" NOT NULL,
         token text COLLATE "C" NOT NULL,
         kind text NOT NULL CHECK (kind IN ('hold', 'delete')),
         until int8 NOT NULL,
         PRIMARY KEY (digest, token))`,
      `CREATE TABLE uploads (
         id text COLLATE "C" PRIMARY KEY,
         repository text COLLATE "C" NOT NULL,
         started_at int8 NOT NULL,
         touched_at int8 NOT NULL)`,
      'CREATE INDEX uploads_touched ON uploads (touched_at)',
      'CREATE INDEX uploads_repository ON uploads (repository)',
      `CREATE TABLE locks (
         key text COLLATE "C" PRIMARY KEY,
         token text NOT NULL,
         owner text NOT NULL,
         until int8 NOT NULL)`,
    ],
  },
  {
    version: 2,
    name: 'mirror cache ledger',
    statements: [
      `CREATE TABLE mirror_tags (
         repository text COLLATE "C" NOT NULL,
         tag text COLLATE "C" NOT NULL,
         digest text COLLATE "C" NOT NULL,
         checked_at int8 NOT NULL,
         PRIMARY KEY (repository, tag))`,
      `CREATE TABLE mirror_images (
         repository text COLLATE "C" NOT NULL,
         digest text COLLATE "C" NOT NULL,
         size int8 NOT NULL,
         last_access int8 NOT NULL,
         PRIMARY KEY (repository, digest))`,
      'CREATE INDEX mirror_images_lru ON mirror_images (last_access)',
      `CREATE TABLE mirror_image_blobs (
         repository text COLLATE "C" NOT NULL,
         manifest text COLLATE "C" NOT NULL,
         blob text COLLATE "C" NOT NULL,
         PRIMARY KEY (repository, manifest, blob))`,
      'CREATE INDEX mirror_image_blobs_blob ON mirror_image_blobs (repository, blob)',
      `CREATE TABLE mirror_blobs (
         repository text COLLATE "C" NOT NULL,
         digest text COLLATE "C" NOT NULL,
         size int8 NOT NULL,
         last_access int8 NOT NULL,
         PRIMARY KEY (repository, digest))`,
      'CREATE INDEX mirror_blobs_lru ON mirror_blobs (last_access)',
    ],
  },
  {
    version: 3,
    name: 'owners of upload sessions (per-user cap)',
    statements: [
      'ALTER TABLE uploads ADD COLUMN owner text COLLATE "C"',
      'CREATE INDEX uploads_owner ON uploads (owner) WHERE owner IS NOT NULL',
    ],
  },
];

// Any constant both sides agree on; "marina" in ASCII.
const MIGRATION_LOCK = 0x6d6172696e61;

/** Applies the migrations this database lacks; returns the versions applied now. */
export async function migrate(sql: SQL, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  const applied: number[] = [];
  for (;;) {
    const done: number | undefined = await transaction(sql, async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
      await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
        version int4 PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
      const [row] = await tx`SELECT coalesce(max(version), 0)::int4 AS version FROM schema_migrations`;
      const current = Number(row.version);
      const known = migrations.at(-1)?.version ?? 0;
      if (current > known) {
        throw new Error(`the PostgreSQL index is at schema version ${current}, newer than this Marina knows (${known}); upgrade Marina`);
      }
      const next = migrations.find((m) => m.version > current);
      if (!next) return undefined;
      for (const statement of next.statements) await tx.unsafe(statement);
      await tx`INSERT INTO schema_migrations (version, name) VALUES (${next.version}, ${next.name})`;
      return next.version;
    });
    if (done === undefined) return applied;
    applied.push(done);
  }
}

/** The schema version of the database (0 before the first migration). */
export async function schemaVersion(sql: SQL): Promise<number> {
  const [exists] = await sql`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`;
  if (!exists.present) return 0;
  const [row] = await sql`SELECT coalesce(max(version), 0)::int4 AS version FROM schema_migrations`;
  return Number(row.version);
}
