/**
 * What PostgreSQL-backed registries promise beyond the contracts, on a real cluster started here: an acknowledged
 * write survives a crash of the database right after it, and registries sharing one database (two nodes) see and
 * collect each other's content. Fails (never skips) when PostgreSQL is not installed: `bash .ci/install-tools.sh postgres`.
 */
import { describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../../src/logger.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { OCI_MANIFEST } from '../../src/oci/media-types.ts';
import { createRegistry } from '../../src/registry.ts';
import { FsBlobStore } from '../../src/storage/fs-blob-store.ts';
import { openPg } from '../../src/storage/pg-connect.ts';
import { PgIndex } from '../../src/storage/pg-index.ts';
import { pgStorage } from '../../src/storage/pg-storage.ts';
import { PgUploadLedger } from '../../src/storage/pg-upload-ledger.ts';
import type { ManifestRecord } from '../../src/storage/types.ts';
import { postgresForThisFile } from '../support/postgres.ts';

const pg = postgresForThisFile();

function record(text: string): ManifestRecord {
  const body = new TextEncoder().encode(text);
  return { digest: digestOf(body), mediaType: OCI_MANIFEST, size: body.byteLength, body };
}

describe('PostgreSQL durability', () => {
  test('a manifest put, a link and an upload entry are in the WAL when their promises resolve: a crash right after loses none', async () => {
    const url = await pg().createDatabase();
    const index = await PgIndex.open({ url });
    const m = record('{"durable":true}');
    const blob = digestOf('durable layer');
    const sql = openPg({ url, max: 1 });
    const ledger = new PgUploadLedger(sql);
    await index.linkBlob('team/durable', blob, undefined, 7);
    await index.putManifest('team/durable', m, ['v1'], { blobs: [blob], manifests: [] });
    await ledger.add({ id: 'u-durable', repository: 'team/durable', startedAt: 1, touchedAt: 1 });
    // At once: an asynchronous commit would still sit in the WAL buffers, which an immediate shutdown throws away.
    await pg().crashAndRestart();
    await index.close().catch(() => undefined);
    await sql.close({ timeout: 0 }).catch(() => undefined);
    const after = await PgIndex.open({ url });
    const afterSql = openPg({ url, max: 1 });
    try {
      expect(await after.resolveTag('team/durable', 'v1')).toBe(m.digest);
      expect(await after.getManifest('team/durable', m.digest)).toEqual(m);
      expect(await after.blobLink('team/durable', blob)).toEqual({ size: 7 });
      expect(await new PgUploadLedger(afterSql).get('u-durable')).toEqual({ id: 'u-durable', repository: 'team/durable', startedAt: 1, touchedAt: 1 });
    } finally {
      await after.close();
      await afterSql.close({ timeout: 1 });
    }
  });
});

describe('registries on pgStorage', () => {
  test('two registries sharing a database and a blob directory: one pushes, the other deletes and collects garbage', async () => {
    const url = await pg().createDatabase();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-pg-registry-'));
    const open = async () => createRegistry({ storage: await pgStorage({ url, root, blobs: new FsBlobStore({ root, sync: false }) }), logger: createLogger('silent') });
    const [a, b] = [await open(), await open()];
    const enc = (text: string) => new TextEncoder().encode(text);
    const image = async (repository: string, layers: string[]) => {
      const config = enc(`{"image":"${repository}"}`);
      await a.putBlob(repository, config);
      for (const layer of layers) await a.putBlob(repository, enc(layer));
      return a.putManifest(repository, 'v1', JSON.stringify({
        schemaVersion: 2, mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.byteLength },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(l), size: l.length })),
      }));
    };
    try {
      const gone = await image('team/app', ['shared layer', 'app layer']);
      await image('team/other', ['shared layer']);
      expect((await b.getManifest('team/app', 'v1')).digest).toBe(gone.digest);
      await b.deleteManifest('team/app', gone.digest);
      const report = await b.collectGarbage({ graceMs: 0 });
      expect(report.unlinked).toBe(3);
      // The blob only team/app used is gone from the shared store; the shared one stays for team/other.
      expect(await a.storage.blobs.stat(digestOf('app layer'))).toBeUndefined();
      expect(await a.storage.blobs.stat(digestOf('shared layer'))).toBeDefined();
      expect((await a.getBlob('team/other', digestOf('shared layer'))).size).toBe('shared layer'.length);
      await expect(a.getManifest('team/app', 'v1')).rejects.toThrow();
      expect((await a.listRepositories()).items).toEqual(['team/other']);
    } finally {
      await a.close();
      await b.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
