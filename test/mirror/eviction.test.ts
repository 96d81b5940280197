/**
 * The cache budget: above the high watermark, least recently used images are evicted (whole: manifest and the
 * blobs no kept image uses) until the cache is below the low watermark. Pushed local content is never evicted,
 * and neither is a blob a kept image or a local image still references.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { tempDir } from '../helpers/registry.ts';
import { runCli } from '../helpers/server.ts';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';
import { getManifest, serveMirror, serveRegistry, sha256, storedBlobs, type Served } from './support/harness.ts';
import { makeImage, pushImage, randomBytes, type Image } from './support/images.ts';

const MiB = 1024 * 1024;
const BUDGET = 4.5 * MiB;
const HIGH = 0.95;
const LOW = 0.9;

const shared = randomBytes(1 * MiB);
const onlyB = randomBytes(1.5 * MiB);
const A = makeImage([shared, randomBytes(MiB / 2)], { label: 'A' });
const A2 = makeImage([shared, randomBytes(MiB / 2)], { label: 'A2' });
const B = makeImage([onlyB], { label: 'B' });
const C = makeImage([randomBytes(1.5 * MiB)], { label: 'C' });
const D = makeImage([randomBytes(1 * MiB)], { label: 'D' });
// Pushed straight to the mirror after B was pulled; it shares B's layer.
const local = makeImage([onlyB, randomBytes(MiB / 4)], { label: 'local' });

let upstream: Served;
let proxy: FaultProxy;
let mirror: Served;

beforeAll(async () => {
  upstream = serveRegistry();
  for (const [tag, image] of [['a', A], ['a2', A2], ['b', B], ['c', C], ['d', D]] as const) await pushImage(upstream.url, 'team/x', tag, image);
  proxy = await startFaultProxy(upstream.url);
  mirror = serveMirror({ upstreams: [{ name: 'up.test', url: proxy.url }], cacheMaxBytes: BUDGET, highWatermark: HIGH, lowWatermark: LOW });
});

afterAll(async () => {
  await mirror?.close();
  await proxy?.stop();
  await upstream?.close();
});

async function pull(tag: string, image: Image): Promise<void> {
  const manifest = await getManifest(mirror, 'up.test/team/x', tag);
  expect(manifest.status).toBe(200);
  expect(sha256(new Uint8Array(await manifest.arrayBuffer()))).toBe(image.digest);
  for (const blob of image.blobs) {
    const res = await mirror.fetch(`/v2/up.test/team/x/blobs/${blob.digest}`);
    expect(res.status).toBe(200);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(blob.digest);
  }
  // Distinct access times for the LRU order.
  await Bun.sleep(5);
}

const ledger = () => mirror.registry.mirror!.ledger;
const localBytes = local.blobs.reduce((n, b) => n + b.bytes.byteLength, 0);
const cachedImages = async () => (await ledger().allImages()).map((i) => i.digest).sort();
const hasManifest = async (image: Image) => {
  try {
    await mirror.registry.getManifest('up.test/team/x', image.digest);
    return true;
  } catch {
    return false;
  }
};

/** The cache (ledger, and the blob files that are not the local image's) is within the budget. */
async function expectWithinBudget(): Promise<void> {
  expect((await ledger().totalBytes())).toBeLessThanOrEqual(BUDGET * LOW);
  expect(storedBlobs(mirror.root).bytes - localBytes).toBeLessThanOrEqual(BUDGET);
}

async function expectLocalIntact(): Promise<void> {
  const res = await getManifest(mirror, 'local/base', 'v1');
  expect(res.status).toBe(200);
  expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(local.digest);
  for (const blob of local.blobs) {
    const b = await mirror.fetch(`/v2/local/base/blobs/${blob.digest}`);
    expect(sha256(new Uint8Array(await b.arrayBuffer()))).toBe(blob.digest);
  }
}

describe('cache budget', () => {
  test('going over the high watermark evicts the least recently used image, down to the low watermark', async () => {
    await pull('a', A);
    await pull('b', B);
    await getManifest(mirror, 'up.test/team/x', 'a').then((r) => r.body?.cancel()); // A is used again: B is now the oldest
    await Bun.sleep(5);
    await pull('a2', A2);
    await pushImage(mirror.url, 'local/base', 'v1', local);
    expect(await cachedImages()).toEqual([A.digest, A2.digest, B.digest].sort());
    await pull('c', C);
    await mirror.registry.mirror!.idle();
    expect((await ledger().totalBytes())).toBeLessThanOrEqual(BUDGET * LOW);
    expect(await hasManifest(B)).toBe(false);
    expect(await cachedImages()).toEqual([A.digest, A2.digest, C.digest].sort());
    const files = storedBlobs(mirror.root).digests;
    expect(files.has(B.config.digest)).toBe(false);
    // B's layer left the mirror's repository, but the local image pushed here uses it.
    expect(files.has(B.layers[0]!.digest)).toBe(true);
    expect((await mirror.registry.storage.index.hasBlob('up.test/team/x', B.layers[0]!.digest as any))).toBe(false);
    for (const kept of [A, A2, C]) for (const blob of kept.blobs) expect(files.has(blob.digest)).toBe(true);
    await expectWithinBudget();
    expect((await mirror.registry.mirror!.stats()).evictedImages).toBe(1);
    await expectLocalIntact();
  });

  test('a blob a kept image (or a pushed local image) still uses is never deleted', async () => {
    await pull('d', D);
    // A is the oldest now; evicting it alone brings the cache under the low watermark.
    await mirror.registry.mirror!.idle();
    expect((await ledger().totalBytes())).toBeLessThanOrEqual(BUDGET * LOW);
    expect(await hasManifest(A)).toBe(false);
    expect(await cachedImages()).toEqual([A2.digest, C.digest, D.digest].sort());
    const files = storedBlobs(mirror.root).digests;
    // A's first layer is shared with A2, which is kept.
    expect(files.has(A.layers[0]!.digest)).toBe(true);
    expect(files.has(A.config.digest)).toBe(false);
    for (const kept of [A2, C, D]) for (const blob of kept.blobs) expect(files.has(blob.digest)).toBe(true);
    await expectWithinBudget();
    await expectLocalIntact();
  });

  test('an evicted image is fetched again from upstream on the next pull', async () => {
    const before = proxy.blobGets(A.layers[1]!.digest).length;
    await pull('a', A);
    expect(proxy.blobGets(A.layers[1]!.digest).length).toBe(before + 1);
    await mirror.registry.mirror!.idle();
    await expectWithinBudget();
  });

  test('evicting everything leaves exactly the pushed local content', async () => {
    const { images } = await mirror.registry.mirror!.evict(0);
    expect(images).toBeGreaterThan(0);
    expect((await ledger().totalBytes())).toBe(0);
    expect((await ledger().allImages())).toEqual([]);
    expect([...storedBlobs(mirror.root).digests].sort()).toEqual(local.blobs.map((b) => b.digest).sort());
    await expectLocalIntact();
  });
});

describe('marina cache', () => {
  test('ls lists the cached images of a data directory; prune evicts them, keeping local content', async () => {
    const root = tempDir('marina-cache-cli-');
    try {
      const own = serveMirror({ upstreams: [{ name: 'up.test', url: proxy.url }] }, root);
      for (const [tag, image] of [['c', C], ['d', D]] as const) {
        const res = await getManifest(own, 'up.test/team/x', tag);
        expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(image.digest);
        for (const blob of image.blobs) await (await own.fetch(`/v2/up.test/team/x/blobs/${blob.digest}`)).arrayBuffer();
      }
      await pushImage(own.url, 'local/base', 'v1', local);
      await own.close({ removeData: false });

      const flags = ['--data', root, '--mirror', `up.test=${proxy.url}`];
      const ls = await runCli(['cache', 'ls', ...flags]);
      expect(ls.code).toBe(0);
      expect(ls.stdout).toContain(`up.test/team/x@${C.digest}`);
      expect(ls.stdout).toContain(`up.test/team/x@${D.digest}`);
      expect(ls.stdout).toContain('2 cached images');
      expect(ls.stdout).not.toContain('local/base');

      const prune = await runCli(['cache', 'prune', '--to', '0', ...flags]);
      expect(prune.code).toBe(0);
      expect(prune.stdout).toContain('evicted 2 images');
      expect([...storedBlobs(root).digests].sort()).toEqual(local.blobs.map((b) => b.digest).sort());
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }, 20_000);
});
