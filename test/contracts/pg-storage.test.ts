/**
 * What only the PostgreSQL stores must show, on a real cluster started here: migrations applied once when nodes
 * start together, byte-order listings whatever the database's collation, and the races between two nodes that the
 * index's locking closes (GC's unlink against a manifest put, a hold against a deletion claim).
 * Fails (never skips) when PostgreSQL is not installed: `bash .ci/install-tools.sh postgres`.
 */
import { describe, expect, test } from 'bun:test';
import { RegistryError } from '../../src/errors.ts';
import { digestOf, type Digest } from '../../src/oci/digest.ts';
import { OCI_MANIFEST } from '../../src/oci/media-types.ts';
import { openPg } from '../../src/storage/pg-connect.ts';
import { PgIndex } from '../../src/storage/pg-index.ts';
import { MIGRATIONS, migrate, schemaVersion } from '../../src/storage/pg-migrations.ts';
import { PgMirrorLedger } from '../../src/storage/pg-mirror-ledger.ts';
import { PgUploadLedger } from '../../src/storage/pg-upload-ledger.ts';
import type { ManifestRecord } from '../../src/storage/types.ts';
import { postgresForThisFile } from '../support/postgres.ts';

const pg = postgresForThisFile();

function record(text: string, extra: Partial<ManifestRecord> = {}): ManifestRecord {
  const body = new TextEncoder().encode(text);
  return { digest: digestOf(body), mediaType: OCI_MANIFEST, size: body.byteLength, body, ...extra };
}

/** Two nodes: two pools on one database. */
async function twoNodes(): Promise<[PgIndex, PgIndex, () => Promise<void>]> {
  const url = await pg().createDatabase();
  const [a, b] = await Promise.all([PgIndex.open({ url }), PgIndex.open({ url })]);
  return [a, b, async () => void (await Promise.all([a.close(), b.close()]))];
}

describe('PostgreSQL schema migrations', () => {
  test('nodes starting together apply each migration exactly once', async () => {
    const url = await pg().createDatabase();
    const pools = Array.from({ length: 4 }, () => openPg({ url, max: 2 }));
    try {
      const applied = await Promise.all(pools.map((sql) => migrate(sql)));
      // Each version was applied by exactly one of them (whichever held the lock when it was next).
      expect(applied.flat().sort((x, y) => x - y)).toEqual(MIGRATIONS.map((m) => m.version));
      const rows = await pools[0]!`SELECT version FROM schema_migrations ORDER BY version`;
      expect(rows.map((r: { version: number }) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await migrate(pools[1]!)).toEqual([]);
      expect(await schemaVersion(pools[2]!)).toBe(MIGRATIONS.at(-1)!.version);
    } finally {
      for (const sql of pools) await sql.close({ timeout: 1 });
    }
  });

  test('a failing migration leaves nothing of itself, and a database from a newer Marina is refused', async () => {
    const url = await pg().createDatabase();
    const sql = openPg({ url, max: 1 });
    try {
      const broken = [...MIGRATIONS, { version: 99, name: 'broken', statements: ['CREATE TABLE half_done (x int)', 'SELECT no_such_function()'] }];
      await expect(migrate(sql, broken)).rejects.toThrow('no_such_function');
      expect(await schemaVersion(sql)).toBe(MIGRATIONS.at(-1)!.version);
      expect((await sql`SELECT to_regclass('half_done') IS NULL AS gone`)[0].gone).toBe(true);
      await sql`INSERT INTO schema_migrations (version, name) VALUES (1000, 'from the future')`;
      await expect(migrate(sql)).rejects.toThrow('schema version 1000, newer than this Marina knows');
      await expect(PgIndex.open({ url })).rejects.toThrow('upgrade Marina');
    } finally {
      await sql.close({ timeout: 1 });
    }
  });
});

describe('PgIndex', () => {
  test('tags and repositories page in byte order even in a database with a language collation', async () => {
    const url = await pg().createDatabase({ icuLocale: 'en-US' });
    const index = await PgIndex.open({ url });
    try {
      const tags = ['a_b', 'B', 'a.b', 'Z', 'a', 'a-b', '0', 'b'];
      const m = record('{"tags":1}');
      await index.putManifest('r', m, tags, { blobs: [], manifests: [] });
      const byteOrder = [...tags].sort();
      expect(byteOrder).toEqual(['0', 'B', 'Z', 'a', 'a-b', 'a.b', 'a_b', 'b']);
      expect((await index.listTags('r', { limit: 100 })).items).toEqual(byteOrder);
      const page = await index.listTags('r', { last: 'Z', limit: 3 });
      expect(page).toEqual({ items: ['a', 'a-b', 'a.b'], more: true });
      for (const name of ['team/a_b', 'team/B', 'team/a-b', 'Team/x'.toLowerCase()]) await index.linkBlob(name, digestOf(name));
      expect((await index.listRepositories({ limit: 10 })).items).toEqual(['r', 'team/B', 'team/a-b', 'team/a_b', 'team/x']);
    } finally {
      await index.close();
    }
  });

  test('a manifest keeps its exact bytes, and its referrer entry its annotations in their order', async () => {
    const [a, b, close] = await twoNodes();
    try {
      const subject = record('{"subject":true}');
      await a.putManifest('r', subject, ['v1'], { blobs: [], manifests: [] });
      // Bytes that are not valid UTF-8 and not canonical JSON still come back as they went in.
      const body = new Uint8Array([0x7b, 0x20, 0xff, 0x00, 0x7d, 0x0a]);
      const referrer: ManifestRecord = {
        digest: digestOf(body), mediaType: OCI_MANIFEST, size: body.byteLength, body, subject: subject.digest,
        artifactType: 'application/x.sig', annotations: { 'z.last': '1', 'a.first': '2' },
      };
      await a.putManifest('r', referrer, [], { blobs: [], manifests: [subject.digest] });
      const got = await b.getManifest('r', referrer.digest);
      expect(got).toEqual(referrer);
      expect(Object.keys(got!.annotations!)).toEqual(['z.last', 'a.first']);
      const listed = await b.listReferrers('r', subject.digest, 'application/x.sig');
      expect(listed).toEqual([{ mediaType: OCI_MANIFEST, digest: referrer.digest, size: body.byteLength, artifactType: 'application/x.sig', annotations: { 'z.last': '1', 'a.first': '2' } }]);
      expect(await b.listReferrers('r', subject.digest, 'application/other')).toEqual([]);
      expect(await b.deleteManifest('r', referrer.digest)).toBe(true);
      expect(await a.listReferrers('r', subject.digest)).toEqual([]);
    } finally {
      await close();
    }
  });

  test('GC unlinking on one node and a manifest put on another never leave a manifest whose blob link is gone', async () => {
    const [a, b, close] = await twoNodes();
    try {
      let stored = 0;
      let refused = 0;
      for (let i = 0; i < 30; i++) {
        const repo = `race/${i}`;
        const blob = digestOf(`layer ${i}`);
        await a.linkBlob(repo, blob, undefined, 10);
        const generation = await b.repositoryGeneration(repo);
        const m = record(`{"uses":"${blob}"}`);
        const [put, unlinked] = await Promise.allSettled([
          a.putManifest(repo, m, ['latest'], { blobs: [blob], manifests: [] }),
          b.unlinkBlob(repo, blob, { linkedBefore: Date.now() + 60_000, generation }),
        ]);
        if (unlinked.status === 'rejected') throw unlinked.reason;
        const linked = await a.hasBlob(repo, blob);
        const manifest = await a.getManifest(repo, m.digest);
        if (put.status === 'fulfilled') {
          stored++;
          // The put committed: the unlink either came first (then the put could not have found the link) or saw
          // the new generation and refused.
          expect(unlinked.value).toBe(false);
          expect(linked).toBe(true);
          expect(manifest).toBeDefined();
        } else {
          refused++;
          expect((put.reason as RegistryError).code).toBe('MANIFEST_BLOB_UNKNOWN');
          expect(unlinked.value).toBe(true);
          expect(linked).toBe(false);
          expect(manifest).toBeUndefined();
        }
      }
      expect(stored + refused).toBe(30);
    } finally {
      await close();
    }
  });

  test('a hold and a deletion claim raced from two nodes are never both granted', async () => {
    const [a, b, close] = await twoNodes();
    try {
      let holds = 0;
      let claims = 0;
      for (let i = 0; i < 30; i++) {
        const digest = digestOf(`contended ${i}`) as Digest;
        const [hold, claim] = await Promise.all([a.holdBlob(digest, 10_000), b.claimBlobDeletion(digest, 10_000)]);
        expect(hold === undefined || claim === undefined).toBe(true);
        expect(hold !== undefined || claim !== undefined).toBe(true);
        if (hold) holds++;
        if (claim) {
          claims++;
          // While the claim lasts, a plain link is refused on every node.
          expect(await a.linkBlob('r', digest)).toBe(false);
        }
      }
      expect(holds + claims).toBe(30);
    } finally {
      await close();
    }
  });

  test('an expired hold no longer blocks a claim, and the claim makes linking with that hold fail', async () => {
    const [a, b, close] = await twoNodes();
    try {
      const digest = digestOf('short hold');
      const hold = (await a.holdBlob(digest, 50))!;
      expect(await b.claimBlobDeletion(digest, 10_000)).toBeUndefined();
      await Bun.sleep(80);
      const claim = await b.claimBlobDeletion(digest, 10_000);
      expect(claim).toBeDefined();
      expect(await a.linkBlob('r', digest, hold, 5)).toBe(false);
      expect(await a.hasBlob('r', digest)).toBe(false);
    } finally {
      await close();
    }
  });
});

describe('PgUploadLedger', () => {
  test('a session added on one node is seen, touched and removed from another; a duplicate id is refused', async () => {
    const url = await pg().createDatabase();
    const sqlA = openPg({ url, max: 2 });
    const sqlB = openPg({ url, max: 2 });
    await migrate(sqlA);
    const a = new PgUploadLedger(sqlA, () => sqlA.close({ timeout: 1 }));
    const b = new PgUploadLedger(sqlB, () => sqlB.close({ timeout: 1 }));
    try {
      await a.add({ id: 'u1', repository: 'team/app', startedAt: 1000, touchedAt: 1000 });
      await a.add({ id: 'u2', repository: 'team/app2', startedAt: 1000, touchedAt: 1000 });
      expect(await b.get('u1')).toEqual({ id: 'u1', repository: 'team/app', startedAt: 1000, touchedAt: 1000 });
      await expect(b.add({ id: 'u1', repository: 'x', startedAt: 1, touchedAt: 1 })).rejects.toThrow();
      await b.touch('u1', 5000);
      expect((await a.idleSince(2000)).map((e) => e.id)).toEqual(['u2']);
      expect(await a.count('team/app')).toBe(1);
      expect(await a.count()).toBe(2);
      await b.remove('u2');
      expect(await a.get('u2')).toBeUndefined();
      expect(await a.idleSince(Number.MAX_SAFE_INTEGER)).toEqual([{ id: 'u1', repository: 'team/app', startedAt: 1000, touchedAt: 5000 }]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('PgMirrorLedger', () => {
  test('an image cached on one node is seen by another; removing it frees only the blobs no other image uses', async () => {
    const url = await pg().createDatabase();
    const sqlA = openPg({ url, max: 2 });
    const sqlB = openPg({ url, max: 2 });
    await migrate(sqlA);
    const a = new PgMirrorLedger(sqlA, () => sqlA.close({ timeout: 1 }));
    const b = new PgMirrorLedger(sqlB, () => sqlB.close({ timeout: 1 }));
    try {
      await a.setTag('hub/app', 'latest', 'sha256:m1', 1000);
      await a.addImage('hub/app', 'sha256:m1', 100, ['sha256:shared', 'sha256:only1'], 1000);
      await b.addImage('hub/app', 'sha256:m2', 200, ['sha256:shared'], 2000);
      await b.addBlob('hub/app', 'sha256:shared', 5000, 1500);
      await b.addBlob('hub/app', 'sha256:loose', 7, 500);
      expect(await b.tag('hub/app', 'latest')).toEqual({ digest: 'sha256:m1', checkedAt: 1000 });
      expect(await b.hasImage('hub/app', 'sha256:m1')).toBe(true);
      expect(await a.totalBytes()).toBe(100 + 200 + 5000 + 7);
      // m1's recency is its newest blob's (1500), still older than m2 (2000).
      expect((await a.leastRecentlyUsed(10)).map((i) => [i.digest, i.lastAccess])).toEqual([['sha256:m1', 1500], ['sha256:m2', 2000]]);
      expect(await a.orphanBlobs(10)).toEqual([{ repository: 'hub/app', digest: 'sha256:loose', size: 7 }]);
      expect((await b.removeImage('hub/app', 'sha256:m1')).map((f) => f.digest)).toEqual(['sha256:only1']);
      expect(await a.tag('hub/app', 'latest')).toBeUndefined();
      expect(await a.hasImage('hub/app', 'sha256:m1')).toBe(false);
      expect((await a.removeImage('hub/app', 'sha256:m2')).map((f) => f.digest)).toEqual(['sha256:shared']);
      expect(await a.totalBytes()).toBe(7);
      expect(await a.allImages()).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
