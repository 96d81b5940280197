/**
 * Garbage collection with blobs in S3 (a real SeaweedFS): the collector lists the bucket's objects, keeps objects
 * younger than the grace period by their S3 time, deletes only under a deletion claim, and `marina gc` opens the
 * same storage as `marina serve` from flags, environment or config file, also beside a live server whose clients
 * re-push. Fails (never skips) when `weed` is missing: `bash .ci/install-tools.sh s3`.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLogger } from '../../src/logger.ts';
import { digestOf, type Digest } from '../../src/oci/digest.ts';
import { OCI_MANIFEST } from '../../src/oci/media-types.ts';
import { createRegistry, type Registry } from '../../src/registry.ts';
import { S3BlobStore } from '../../src/storage/s3-blob-store.ts';
import { s3Storage } from '../../src/storage/s3-storage.ts';
import { Client } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { brokenImages, rePushUntil } from '../helpers/repush-race.ts';
import { runCli, startServer } from '../helpers/server.ts';
import { startSeaweedFs, type SeaweedFs } from '../support/seaweedfs.ts';

setDefaultTimeout(60_000);

const BUCKET = 'marina-gc';
const enc = (s: string) => new TextEncoder().encode(s);
let weed: SeaweedFs;
const dirs: string[] = [];

beforeAll(async () => {
  weed = await startSeaweedFs();
  await weed.createBucket(BUCKET);
}, 150_000);

afterAll(async () => {
  await weed?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function s3Options(prefix: string) {
  return { bucket: BUCKET, prefix, endpoint: weed.endpoint, region: weed.region, accessKeyId: weed.accessKeyId, secretAccessKey: weed.secretAccessKey };
}

/** A registry on S3 blobs under a prefix of its own, with its index in a fresh data directory. */
function openRegistry(prefix = `gc-${crypto.randomUUID()}`, root = tempDir('marina-s3-gc-')): { registry: Registry; prefix: string; root: string } {
  dirs.push(root);
  const registry = createRegistry({ storage: s3Storage({ root, s3: s3Options(prefix) }), logger: createLogger('silent') });
  return { registry, prefix, root };
}

/** The digests stored under a prefix, straight from a bucket listing. */
async function objectsIn(prefix: string): Promise<Digest[]> {
  const out: Digest[] = [];
  for await (const d of new S3BlobStore(s3Options(prefix)).list()) out.push(d);
  return out.sort();
}

/** Pushes an image (config + layers) and tags it. */
async function image(registry: Registry, repository: string, tag: string, layers: string[]): Promise<void> {
  const config = enc(`{"image":"${repository}:${tag}"}`);
  await registry.putBlob(repository, config);
  for (const l of layers) await registry.putBlob(repository, enc(l));
  await registry.putManifest(repository, tag, JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.byteLength },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(l), size: l.length })),
  }));
}

describe('collectGarbage with blobs in S3', () => {
  test('deletes the objects no repository links and keeps the referenced ones, listing the bucket', async () => {
    const { registry, prefix } = openRegistry();
    try {
      await image(registry, 'app', 'v1', ['shared layer', 'v1 layer']);
      await image(registry, 'other', 'v1', ['shared layer']);
      await registry.putBlob('app', enc('orphan upload'));
      await registry.deleteManifest('app', (await registry.getManifest('app', 'v1')).digest);
      // An object nobody linked (a crashed commit, a copy from elsewhere): only the bucket listing finds it.
      const stray = enc('object no index knows');
      await registry.storage.blobs.put(digestOf(stray), stray);
      expect((await objectsIn(prefix)).length).toBe(6);

      const dry = await registry.collectGarbage({ graceMs: 0, dryRun: true });
      expect(dry).toMatchObject({ unlinked: 4, deletedBlobs: 4 });
      expect((await objectsIn(prefix)).length).toBe(6);

      const report = await registry.collectGarbage({ graceMs: 0 });
      expect(report).toMatchObject({ repositories: 2, unlinked: 4, deletedBlobs: 4, freedBytes: dry.freedBytes });
      const otherConfig = digestOf(enc('{"image":"other:v1"}'));
      expect(await objectsIn(prefix)).toEqual([digestOf('shared layer'), otherConfig].sort());
      const kept = await registry.getBlob('other', digestOf('shared layer'));
      expect(new TextDecoder().decode(await kept.body.arrayBuffer())).toBe('shared layer');
    } finally {
      await registry.close();
    }
  });

  test('keeps unlinked objects younger than the grace period, by their S3 time', async () => {
    const { registry, prefix } = openRegistry();
    try {
      const bytes = enc('written by a commit whose link is not there yet');
      await registry.storage.blobs.put(digestOf(bytes), bytes);
      expect(await registry.collectGarbage({ graceMs: 60_000 })).toMatchObject({ deletedBlobs: 0 });
      expect(await objectsIn(prefix)).toEqual([digestOf(bytes)]);
      expect(await registry.collectGarbage({ graceMs: 0 })).toMatchObject({ deletedBlobs: 1 });
      expect(await objectsIn(prefix)).toEqual([]);
    } finally {
      await registry.close();
    }
  });

  test('leaves an object alone while a commit holds it, and while another collector claims its deletion', async () => {
    const { registry, prefix } = openRegistry();
    try {
      const held = enc('held by a commit in another process');
      const claimed = enc('being deleted by another collector');
      for (const b of [held, claimed]) await registry.storage.blobs.put(digestOf(b), b);
      const hold = (await registry.storage.index.holdBlob(digestOf(held), 60_000))!;
      const claim = (await registry.storage.index.claimBlobDeletion(digestOf(claimed), 60_000))!;
      expect(hold).toBeString();
      expect(claim).toBeString();
      expect(await registry.collectGarbage({ graceMs: 0 })).toMatchObject({ deletedBlobs: 0 });
      expect(await objectsIn(prefix)).toEqual([digestOf(held), digestOf(claimed)].sort());
      await registry.storage.index.releaseBlob(digestOf(held), hold);
      await registry.storage.index.releaseBlob(digestOf(claimed), claim);
      expect(await registry.collectGarbage({ graceMs: 0 })).toMatchObject({ deletedBlobs: 2 });
      expect(await objectsIn(prefix)).toEqual([]);
    } finally {
      await registry.close();
    }
  });
});

describe('marina gc with blobs in S3', () => {
  test('takes --blobs and --s3-endpoint like serve, with credentials from AWS_* variables', async () => {
    const { registry, prefix, root } = openRegistry();
    await image(registry, 'app', 'v1', ['kept layer']);
    await registry.putBlob('app', enc('orphan layer'));
    await registry.close();
    const env = { AWS_ACCESS_KEY_ID: weed.accessKeyId, AWS_SECRET_ACCESS_KEY: weed.secretAccessKey, AWS_REGION: weed.region };
    const args = ['gc', '--data', root, '--blobs', `s3://${BUCKET}/${prefix}`, '--s3-endpoint', weed.endpoint, '--grace', '0'];
    const dry = await runCli([...args, '--dry-run'], env, 30_000);
    expect(dry.stderr).toBe('');
    expect(dry.stdout).toContain(`collecting garbage in ${root} and s3://${BUCKET}/${prefix} (dry run)`);
    expect(dry.stdout).toContain('1 links and 1 blobs (12 B) would be removed');
    expect((await objectsIn(prefix)).length).toBe(3);
    const real = await runCli(args, env, 30_000);
    expect({ code: real.code, stderr: real.stderr }).toEqual({ code: 0, stderr: '' });
    expect(real.stdout).toContain('1 links and 1 blobs (12 B) removed');
    expect(await objectsIn(prefix)).not.toContain(digestOf('orphan layer'));
    expect(await objectsIn(prefix)).toContain(digestOf('kept layer'));
  });

  test('reads the blob store and its credentials from the config file that serve uses', async () => {
    const { registry, prefix, root } = openRegistry();
    await registry.putBlob('app', enc('unreferenced'));
    await registry.close();
    const config = path.join(root, 'marina.json');
    fs.writeFileSync(config, JSON.stringify({
      data: root, blobs: `s3://${BUCKET}/${prefix}`, s3Endpoint: weed.endpoint, s3AccessKeyId: weed.accessKeyId, s3SecretAccessKey: weed.secretAccessKey,
    }));
    // No AWS_* in this environment: a gc that ignored the config would have no way into the bucket.
    const run = await runCli(['gc', '--config', config, '--grace', '0'], { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' }, 30_000);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain('1 links and 1 blobs');
    expect(await objectsIn(prefix)).toEqual([]);
  });

  test('stops with the reason when the bucket refuses its credentials, removing nothing', async () => {
    const { registry, prefix, root } = openRegistry();
    await registry.putBlob('app', enc('must survive a refused gc'));
    await registry.close();
    const run = await runCli(['gc', '--data', root, '--blobs', `s3://${BUCKET}/${prefix}`, '--s3-endpoint', weed.endpoint, '--grace', '0'],
      { AWS_ACCESS_KEY_ID: weed.accessKeyId, AWS_SECRET_ACCESS_KEY: 'wrong' }, 30_000);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('is not usable');
    expect(await objectsIn(prefix)).toEqual([digestOf('must survive a refused gc')]);
  });

  test('beside a live serve --workers 2 on the same bucket, while clients re-push deleted images, loses no acknowledged image', async () => {
    const prefix = `gc-live-${crypto.randomUUID()}`;
    const root = tempDir('marina-s3-gc-live-');
    dirs.push(root);
    const env = { AWS_ACCESS_KEY_ID: weed.accessKeyId, AWS_SECRET_ACCESS_KEY: weed.secretAccessKey, AWS_REGION: weed.region };
    const storage = ['--data', root, '--blobs', `s3://${BUCKET}/${prefix}`, '--s3-endpoint', weed.endpoint];
    const server = await startServer(root, ['--workers', '2', ...storage.slice(2)], env, 30_000);
    try {
      const client = new Client((request) => fetch(request), server.url);
      const until = Date.now() + 12_000;
      const runs = { ok: 0, failed: 0, removedLinks: 0 };
      const collect = async () => {
        while (Date.now() < until) {
          const run = await runCli(['gc', ...storage, '--grace', '1'], env, 60_000);
          if (run.code !== 0) {
            runs.failed++;
            console.error(run.stderr);
            continue;
          }
          runs.ok++;
          runs.removedLinks += Number(/; (\d+) links/.exec(run.stdout)?.[1] ?? 0);
        }
      };
      const [{ acknowledged, refusedWithinGrace }] = await Promise.all([rePushUntil(client, { until, workers: 8, graceMs: 1000 }), collect()]);
      const broken = await brokenImages(client, acknowledged);
      console.log(`S3 gc beside live workers: ${acknowledged.length} acknowledged, ${broken.length} broken; gc ran ${runs.ok} times (${runs.failed} failed), removed ${runs.removedLinks} links`);
      expect(runs.failed).toBe(0);
      expect(runs.ok).toBeGreaterThan(1);
      expect(runs.removedLinks).toBeGreaterThan(0);
      expect(acknowledged.length).toBeGreaterThan(10);
      expect(broken.slice(0, 10)).toEqual([]);
      expect(refusedWithinGrace).toBe(0);
    } finally {
      await server.stop('SIGTERM', 20_000);
    }
  }, 120_000);
});
