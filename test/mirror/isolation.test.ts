/**
 * A mirrored repository sees only blobs its upstream vouches for (CVE-2026-35172, issue #9 item 2): bytes stored
 * for a local repository, for another upstream or another repository of the same upstream are never answered,
 * linked or mountable under a mirrored name unless that repository's upstream confirms the digest.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';
import { getManifest, hasBlobFile, serveRegistry, sha256, type Served } from './support/harness.ts';
import { blobOf, pushImage, randomBytes, randomImage } from './support/images.ts';
import { RegistryClient } from '../../src/client/client.ts';
import { parseDigest } from '../../src/oci/digest.ts';

let upstream: Served;
let other: Served;
let proxy: FaultProxy;
let mirror: Served;
const shared = randomImage([3000, 200_000], 'shared');
const secret = blobOf(randomBytes(4096));

beforeAll(async () => {
  upstream = serveRegistry();
  other = serveRegistry();
  await pushImage(upstream.url, 'team/app', 'v1', shared);
  await pushImage(upstream.url, 'team/lib', 'v1', shared);
  proxy = await startFaultProxy(upstream.url);
  mirror = serveRegistry({
    deleteEnabled: true,
    mirror: { upstreams: [{ name: 'up.test', url: proxy.url }, { name: 'other.test', url: other.url }], upstreamTimeoutMs: 2000 },
  });
  // Local content on the mirror itself: a private repository.
  await new RegistryClient({ registry: mirror.url }).pushBlob('secret/app', secret.bytes, secret.digest);
});

afterAll(async () => {
  await mirror?.close();
  await proxy?.stop();
  await upstream?.close();
  await other?.close();
});

/** The digests linked in a repository of the mirror's index. */
async function linked(repository: string, digest: string): Promise<boolean> {
  return mirror.registry.storage.index.hasBlob(repository, parseDigest(digest));
}

describe('a blob pushed to a local repository', () => {
  test('is not answered under a mirrored repository whose upstream lacks it (GET and HEAD), and is not linked there', async () => {
    const get = await mirror.fetch(`/v2/up.test/x/blobs/${secret.digest}`);
    expect(get.status).toBe(404);
    expect(((await get.json()) as any).errors[0].code).toBe('BLOB_UNKNOWN');
    const head = await mirror.fetch(`/v2/up.test/x/blobs/${secret.digest}`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    // The default-upstream spelling (a plain name) is the same repository.
    const plain = await mirror.fetch(`/v2/x/blobs/${secret.digest}`);
    expect(plain.status).toBe(404);
    await plain.body?.cancel();
    expect(await linked('up.test/x', secret.digest)).toBe(false);
    // The upstream was asked about that repository: the answer comes from it, not from the store.
    expect(proxy.count((r) => r.path === `/v2/x/blobs/${secret.digest}`)).toBeGreaterThan(0);
  });

  test('cannot be mounted from the mirrored repository it was requested under', async () => {
    const probe = await mirror.fetch(`/v2/up.test/x/blobs/${secret.digest}`);
    await probe.body?.cancel();
    const mount = await mirror.fetch(`/v2/mine/blobs/uploads/?mount=${secret.digest}&from=up.test/x`, { method: 'POST' });
    expect(mount.status).toBe(202);
    await mount.body?.cancel();
    expect(await linked('mine', secret.digest)).toBe(false);
  });

  test("is gone everywhere once the original repository deletes it", async () => {
    const local = blobOf(randomBytes(2048));
    await new RegistryClient({ registry: mirror.url }).pushBlob('secret/other', local.bytes, local.digest);
    const probe = await mirror.fetch(`/v2/up.test/x/blobs/${local.digest}`);
    await probe.body?.cancel();
    const del = await mirror.fetch(`/v2/secret/other/blobs/${local.digest}`, { method: 'DELETE' });
    expect(del.status).toBe(202);
    expect(hasBlobFile(mirror.root, local.digest)).toBe(false);
    const after = await mirror.fetch(`/v2/up.test/x/blobs/${local.digest}`);
    expect(after.status).toBe(404);
    await after.body?.cancel();
  });
});

describe('a blob mirrored for one repository', () => {
  beforeAll(async () => {
    const res = await getManifest(mirror, 'up.test/team/app', 'v1');
    expect(res.status).toBe(200);
    await res.body?.cancel();
    for (const blob of shared.blobs) {
      const b = await mirror.fetch(`/v2/up.test/team/app/blobs/${blob.digest}`);
      expect(sha256(new Uint8Array(await b.arrayBuffer()))).toBe(blob.digest);
    }
  });

  test('is not answered for another upstream that does not have it', async () => {
    const digest = shared.layers[0]!.digest;
    for (const method of ['GET', 'HEAD']) {
      const res = await mirror.fetch(`/v2/other.test/team/app/blobs/${digest}`, { method });
      expect({ method, status: res.status }).toEqual({ method, status: 404 });
      await res.body?.cancel();
    }
    expect(await linked('other.test/team/app', digest)).toBe(false);
  });

  test('is not answered for another repository of the same upstream that does not have it', async () => {
    const digest = shared.layers[0]!.digest;
    const res = await mirror.fetch(`/v2/up.test/team/empty/blobs/${digest}`);
    expect(res.status).toBe(404);
    await res.body?.cancel();
    expect(await linked('up.test/team/empty', digest)).toBe(false);
  });

  test('is served from the store for another repository once its upstream confirms it (no second download)', async () => {
    const blob = shared.layers[1]!;
    const before = proxy.blobGets(blob.digest).length;
    const res = await mirror.fetch(`/v2/up.test/team/lib/blobs/${blob.digest}`);
    expect(res.status).toBe(200);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(blob.digest);
    expect(proxy.blobGets(blob.digest).length).toBe(before);
    expect(proxy.count((r) => r.method === 'HEAD' && r.path === `/v2/team/lib/blobs/${blob.digest}`)).toBe(1);
    expect(await linked('up.test/team/lib', blob.digest)).toBe(true);
  });
});

describe('a fill running for one repository', () => {
  test('does not answer another repository whose upstream lacks the blob', async () => {
    const image = randomImage([400_000], 'filling');
    await pushImage(upstream.url, 'team/slow', 'v1', image);
    const layer = image.layers[0]!;
    proxy.faults.blobBytesPerSecond = 400_000;
    try {
      const filling = fetch(`${mirror.url}/v2/up.test/team/slow/blobs/${layer.digest}`).then(async (r) => sha256(new Uint8Array(await r.arrayBuffer())));
      // Wait until the fill is under way, then ask for the digest under a repository that never had it.
      const deadline = Date.now() + 3000;
      while (proxy.blobGets(layer.digest).length === 0 && Date.now() < deadline) await Bun.sleep(5);
      const intruder = await mirror.fetch(`/v2/up.test/team/empty/blobs/${layer.digest}`);
      expect(intruder.status).toBe(404);
      await intruder.body?.cancel();
      expect(await filling).toBe(layer.digest);
      expect(await linked('up.test/team/empty', layer.digest)).toBe(false);
    } finally {
      proxy.faults = {};
    }
  });

  test('joins another repository whose upstream confirms the blob: one download, linked in both', async () => {
    const image = randomImage([400_000], 'joined');
    await pushImage(upstream.url, 'team/one', 'v1', image);
    await pushImage(upstream.url, 'team/two', 'v1', image);
    const layer = image.layers[0]!;
    proxy.faults.blobBytesPerSecond = 400_000;
    try {
      const first = fetch(`${mirror.url}/v2/up.test/team/one/blobs/${layer.digest}`).then(async (r) => sha256(new Uint8Array(await r.arrayBuffer())));
      const deadline = Date.now() + 3000;
      while (proxy.blobGets(layer.digest).length === 0 && Date.now() < deadline) await Bun.sleep(5);
      const second = await mirror.fetch(`/v2/up.test/team/two/blobs/${layer.digest}`);
      expect(second.status).toBe(200);
      expect(sha256(new Uint8Array(await second.arrayBuffer()))).toBe(layer.digest);
      expect(await first).toBe(layer.digest);
      expect(proxy.blobGets(layer.digest).length).toBe(1);
      expect(proxy.count((r) => r.method === 'HEAD' && r.path === `/v2/team/two/blobs/${layer.digest}`)).toBe(1);
      const deadlineLink = Date.now() + 2000;
      while (!(await linked('up.test/team/two', layer.digest)) && Date.now() < deadlineLink) await Bun.sleep(5);
      expect((await linked('up.test/team/one', layer.digest)) && (await linked('up.test/team/two', layer.digest))).toBe(true);
    } finally {
      proxy.faults = {};
    }
  });
});
