/** Garbage collection through the library: unreferenced links go after the grace period, shared blobs stay. */
import { afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../../src/logger.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { OCI_MANIFEST } from '../../src/oci/media-types.ts';
import { createRegistry, type Registry } from '../../src/registry.ts';
import { fsStorage } from '../../src/storage/storage.ts';
import { Client } from '../helpers/client.ts';
import { brokenImages, rePushUntil } from '../helpers/repush-race.ts';

const enc = (s: string) => new TextEncoder().encode(s);
let registry: Registry;
let dir: string;
afterEach(async () => {
  await registry.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(): Registry {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-gc-'));
  registry = createRegistry({ storage: fsStorage({ root: dir, sync: false }), logger: createLogger('silent') });
  return registry;
}

async function image(repository: string, tag: string, layers: string[]): Promise<void> {
  const config = enc(`{"image":"${repository}:${tag}"}`);
  await registry.putBlob(repository, config);
  for (const l of layers) await registry.putBlob(repository, enc(l));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.byteLength },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(l), size: l.length })),
  });
  await registry.putManifest(repository, tag, manifest);
}

describe('collectGarbage', () => {
  test('removes links no manifest references and the files no repository links, keeping referenced ones', async () => {
    open();
    await image('app', 'v1', ['shared layer', 'v1 layer']);
    await image('other', 'v1', ['shared layer']);
    await registry.putBlob('app', enc('orphan upload'));
    await registry.putBlob('other', enc('orphan elsewhere'));
    // By digest: deleting the tag alone would leave the manifest, and its references, in place.
    await registry.deleteManifest('app', (await registry.getManifest('app', 'v1')).digest);
    const manifest = await registry.getManifest('other', 'v1');
    expect(manifest).toBeDefined();

    const dry = await registry.collectGarbage({ graceMs: 0, dryRun: true });
    expect(dry.unlinked).toBe(5);
    expect((await registry.getBlob('app', digestOf('orphan upload'))).size).toBe('orphan upload'.length);

    const lines: string[] = [];
    const report = await registry.collectGarbage({ graceMs: 0, onProgress: (m) => lines.push(m) });
    expect(report).toMatchObject({ repositories: 2, unlinked: 5 });
    // app lost every link (its manifest was deleted); other keeps its image, loses its orphan.
    await expect(registry.getBlob('app', digestOf('shared layer'))).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
    expect((await registry.getBlob('other', digestOf('shared layer'))).size).toBe('shared layer'.length);
    await expect(registry.getBlob('other', digestOf('orphan elsewhere'))).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
    // Files: 'v1 layer', app's config and both orphans are gone from disk; the shared layer stays.
    expect(report.deletedBlobs).toBe(4);
    expect(await registry.storage.blobs.stat(digestOf('v1 layer'))).toBeUndefined();
    expect(await registry.storage.blobs.stat(digestOf('shared layer'))).toBeDefined();
    expect(lines.some((l) => l.startsWith('other:'))).toBe(true);
  });

  test('keeps links and files younger than the grace period (a push in progress)', async () => {
    open();
    await registry.putBlob('app', enc('layer pushed before its manifest'));
    const report = await registry.collectGarbage({ graceMs: 60_000 });
    expect(report).toMatchObject({ unlinked: 0, deletedBlobs: 0 });
    expect((await registry.getBlob('app', digestOf('layer pushed before its manifest'))).size).toBeGreaterThan(0);
  });

  test('a dry run also counts the files that the links it would remove leave unlinked', async () => {
    open();
    await image('app', 'v1', ['only in app', 'shared with other']);
    await image('other', 'v1', ['shared with other']);
    await registry.deleteManifest('app', (await registry.getManifest('app', 'v1')).digest);
    const dry = await registry.collectGarbage({ graceMs: 0, dryRun: true });
    // app's config and 'only in app' lose their last link; 'shared with other' keeps the one in other.
    expect(dry).toMatchObject({ unlinked: 3, deletedBlobs: 2 });
    const real = await registry.collectGarbage({ graceMs: 0 });
    expect(real).toMatchObject({ unlinked: 3, deletedBlobs: 2, freedBytes: dry.freedBytes });
  });

  test('loses no acknowledged image, and refuses no manifest whose blobs a HEAD just found, while collections run back to back beside re-pushes', async () => {
    open();
    const client = new Client((request) => registry.fetch(request));
    const graceMs = 1000;
    const until = Date.now() + 8000;
    const runs = { collections: 0, unlinked: 0, deletedBlobs: 0 };
    const collect = async () => {
      while (Date.now() < until) {
        const report = await registry.collectGarbage({ graceMs });
        runs.collections++;
        runs.unlinked += report.unlinked;
        runs.deletedBlobs += report.deletedBlobs;
        await Bun.sleep(1);
      }
    };
    const [{ acknowledged, refusals, refusedWithinGrace }] = await Promise.all([rePushUntil(client, { until, workers: 8, graceMs }), collect()]);
    const broken = await brokenImages(client, acknowledged);
    console.log(
      `same-process gc race: ${acknowledged.length} acknowledged, ${broken.length} broken; refused ${JSON.stringify(Object.fromEntries(refusals))} ` +
        `(${refusedWithinGrace} within the grace of their HEADs); ` +
        `${runs.collections} collections removed ${runs.unlinked} links and ${runs.deletedBlobs} files`,
    );
    expect(runs.unlinked).toBeGreaterThan(0);
    expect(acknowledged.length).toBeGreaterThan(20);
    expect(broken.slice(0, 10)).toEqual([]);
    // A HEAD restarts a link's grace period: a manifest that arrives within it after the HEADs that found its
    // blobs may not be refused for them.
    expect(refusedWithinGrace).toBe(0);
  }, 30_000);
});

describe('blob lifecycle beside other writers', () => {
  test('an upload of a blob whose file is being deleted waits for the deletion, then stores and links its own file', async () => {
    open();
    const bytes = enc('contended layer');
    const d = digestOf(bytes);
    await registry.putBlob('a', bytes);
    await registry.storage.index.unlinkBlob('a', d);
    const claim = (await registry.storage.index.claimBlobDeletion(d, 10_000))!;
    expect(claim).toBeString();
    let stored = false;
    const push = registry.putBlob('b', bytes).then(() => (stored = true));
    await Bun.sleep(60);
    expect(stored).toBe(false);
    await registry.storage.blobs.delete(d); // the deleter's own step, under its claim
    await registry.storage.index.releaseBlob(d, claim);
    await push;
    const blob = await registry.getBlob('b', d);
    expect(new Uint8Array(await blob.body.arrayBuffer())).toEqual(bytes);
  });

  test('a collection never deletes the file of a blob that a commit in flight holds', async () => {
    open();
    const bytes = enc('held layer');
    const d = digestOf(bytes);
    await registry.putBlob('a', bytes);
    await registry.storage.index.unlinkBlob('a', d);
    const hold = (await registry.storage.index.holdBlob(d, 60_000))!;
    expect(await registry.collectGarbage({ graceMs: 0 })).toMatchObject({ deletedBlobs: 0 });
    expect(await registry.storage.blobs.stat(d)).toBeDefined();
    await registry.storage.index.releaseBlob(d, hold);
    expect(await registry.collectGarbage({ graceMs: 0 })).toMatchObject({ deletedBlobs: 1 });
    expect(await registry.storage.blobs.stat(d)).toBeUndefined();
  });

  test('a HEAD that finds a blob restarts its grace period, so the collection keeps it for the manifest to come', async () => {
    open();
    const client = new Client((request) => registry.fetch(request));
    const [found, forgotten] = [enc('found by a HEAD'), enc('nobody asked')];
    await registry.putBlob('app', found);
    await registry.putBlob('app', forgotten);
    await Bun.sleep(1100); // older than the grace and the touch interval
    const head = await client.head(`/v2/app/blobs/${digestOf(found)}`);
    expect(head.status).toBe(200);
    expect(await registry.collectGarbage({ graceMs: 50 })).toMatchObject({ unlinked: 1 });
    await expect(registry.getBlob('app', digestOf(forgotten))).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
    // The client's manifest, referencing the blob it found instead of uploading it again, is accepted.
    const config = enc('{"config":1}');
    await registry.putBlob('app', config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.byteLength },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(found), size: found.byteLength }],
    });
    await registry.putManifest('app', 'v1', manifest, OCI_MANIFEST);
    expect((await registry.getBlob('app', digestOf(found))).size).toBe(found.byteLength);
  });
});
