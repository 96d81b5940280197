/**
 * When the upstream fails (with stale-while-revalidate off, so every read past freshness asks upstream first): cached
 * content is served stale with a Warning, uncached content fails fast with 503;
 * a 429 with Retry-After (or Docker Hub's ratelimit-remaining running low) stops revalidation until it passes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';
import { getManifest, type Served, serveMirror, serveRegistry, sha256, timed } from './support/harness.ts';
import { pushImage, randomImage, type Image } from './support/images.ts';

const WARNING = /^299 - ".+"$/;

let upstream: Served;
const cachedImage = randomImage([4096, 8192], 'cached');
const uncachedImage = randomImage([5000], 'uncached');
const thirdImage = randomImage([700], 'third');
const signature = randomImage([64], 'signature');

beforeAll(async () => {
  upstream = serveRegistry();
  await pushImage(upstream.url, 'team/app', 'v1', cachedImage);
  await pushImage(upstream.url, 'team/app', 'v2', uncachedImage);
  await pushImage(upstream.url, 'team/app', 'v3', thirdImage);
});

afterAll(async () => {
  await upstream?.close();
});

/** Pulls a whole image through the mirror (manifest by tag, every blob) and checks the bytes. */
async function pullImage(mirror: Served, name: string, tag: string, image: Image): Promise<Response> {
  const manifest = await getManifest(mirror, name, tag);
  expect(manifest.status).toBe(200);
  expect(sha256(new Uint8Array(await manifest.arrayBuffer()))).toBe(image.digest);
  for (const blob of image.blobs) {
    const res = await mirror.fetch(`/v2/${name}/blobs/${blob.digest}`);
    expect(res.status).toBe(200);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(blob.digest);
  }
  return manifest;
}

describe('upstream down', () => {
  let proxy: FaultProxy;
  let mirror: Served;

  beforeAll(async () => {
    proxy = await startFaultProxy(upstream.url);
    // Freshness 0: every tag read wants to revalidate, so the outage is always in play.
    // A short breaker cool-down: the outage opens the circuit, and 'back up' waits it out.
    mirror = serveMirror({ upstreams: [{ name: 'up.test', url: proxy.url, freshnessSeconds: 0 }], upstreamTimeoutMs: 500, breaker: { cooldownMs: 100, maxCooldownMs: 200 }, staleWhileRevalidateSeconds: 0 });
    await pullImage(mirror, 'up.test/team/app', 'v1', cachedImage);
    const tags = await mirror.fetch('/v2/up.test/team/app/tags/list');
    expect(((await tags.json()) as any).tags).toEqual(['v1', 'v2', 'v3']);
  });

  afterEach(async () => {
    proxy.faults = {};
    await proxy.revive();
  });

  afterAll(async () => {
    await mirror?.close();
    await proxy?.stop();
  });

  test('killed: a cached tag is served stale with a Warning, its blobs from the cache', async () => {
    await proxy.kill();
    const { value: res, ms } = await timed(() => getManifest(mirror, 'up.test/team/app', 'v1'));
    expect(res.status).toBe(200);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(cachedImage.digest);
    expect(res.headers.get('cache-status')).toBe('marina; hit; detail=stale');
    expect(res.headers.get('warning')).toMatch(WARNING);
    expect(ms).toBeLessThan(2000);
    const head = await mirror.fetch('/v2/up.test/team/app/manifests/v1', { method: 'HEAD', headers: { Accept: cachedImage.mediaType } });
    expect(head.status).toBe(200);
    expect(head.headers.get('warning')).toMatch(WARNING);
    expect(head.headers.get('docker-content-digest')).toBe(cachedImage.digest);
    for (const blob of cachedImage.blobs) {
      const b = await mirror.fetch(`/v2/up.test/team/app/blobs/${blob.digest}`);
      expect(b.status).toBe(200);
      expect(b.headers.get('cache-status')).toBe('marina; hit');
      expect(sha256(new Uint8Array(await b.arrayBuffer()))).toBe(blob.digest);
    }
    const byDigest = await getManifest(mirror, 'up.test/team/app', cachedImage.digest);
    expect(byDigest.status).toBe(200);
    expect(byDigest.headers.get('cache-status')).toBe('marina; hit');
    await byDigest.body?.cancel();
  });

  test('killed: uncached manifests and blobs fail fast with 503', async () => {
    await proxy.kill();
    for (const pathname of [
      '/v2/up.test/team/app/manifests/v2',
      `/v2/up.test/team/app/manifests/${uncachedImage.digest}`,
      `/v2/up.test/team/app/blobs/${uncachedImage.layers[0]!.digest}`,
    ]) {
      const { value: res, ms } = await timed(() => mirror.fetch(pathname, { headers: { Accept: cachedImage.mediaType } }));
      expect({ pathname, status: res.status }).toEqual({ pathname, status: 503 });
      expect(((await res.json()) as any).errors[0].code).toBe('UNKNOWN');
      expect(ms).toBeLessThan(2000);
    }
    const head = await mirror.fetch(`/v2/up.test/team/app/blobs/${uncachedImage.layers[0]!.digest}`, { method: 'HEAD' });
    expect(head.status).toBe(503);
  });

  test('killed: tags/list falls back to the cached tags, marked stale', async () => {
    await proxy.kill();
    const res = await mirror.fetch('/v2/up.test/team/app/tags/list');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-status')).toBe('marina; hit; detail=stale');
    expect(res.headers.get('warning')).toMatch(WARNING);
    expect(await res.json()).toEqual({ name: 'up.test/team/app', tags: ['v1'] });
  });

  test('hanging: the upstream timeout bounds every request (stale when cached, 503 when not)', async () => {
    proxy.faults.delayMs = 10_000;
    const stale = await timed(() => getManifest(mirror, 'up.test/team/app', 'v1'));
    expect(stale.value.status).toBe(200);
    expect(stale.value.headers.get('warning')).toMatch(WARNING);
    await stale.value.body?.cancel();
    expect(stale.ms).toBeLessThan(2000);
    const missing = await timed(() => mirror.fetch(`/v2/up.test/team/app/blobs/${uncachedImage.layers[0]!.digest}`));
    expect(missing.value.status).toBe(503);
    await missing.value.body?.cancel();
    expect(missing.ms).toBeLessThan(2000);
  });

  test('back up: the tag revalidates again (no Warning) and uncached content is fetched', async () => {
    await Bun.sleep(250);
    const res = await getManifest(mirror, 'up.test/team/app', 'v1');
    expect(res.status).toBe(200);
    expect(res.headers.get('warning')).toBeNull();
    expect(res.headers.get('cache-status')).toBe('marina; hit; detail=revalidated');
    await res.body?.cancel();
    await pullImage(mirror, 'up.test/team/app', 'v2', uncachedImage);
    expect((await mirror.registry.mirror!.stats()).stale).toBeGreaterThan(0);
  });
});

describe('referrers', () => {
  let proxy: FaultProxy;
  let mirror: Served;

  beforeAll(async () => {
    proxy = await startFaultProxy(upstream.url);
    mirror = serveMirror({ upstreams: [{ name: 'up.test', url: proxy.url }], upstreamTimeoutMs: 500 });
    // A signature-like artifact whose subject is the cached image.
    const body = JSON.parse(new TextDecoder().decode(signature.manifest));
    body.artifactType = 'application/vnd.marina.test.sig';
    body.subject = { mediaType: cachedImage.mediaType, digest: cachedImage.digest, size: cachedImage.manifest.byteLength };
    const bytes = new TextEncoder().encode(JSON.stringify(body));
    const client = (await import('../../src/client/client.ts')).RegistryClient;
    const c = new client({ registry: upstream.url });
    for (const blob of signature.blobs) await c.pushBlob('team/app', blob.bytes, blob.digest);
    await c.putManifest('team/app', sha256(bytes), bytes, signature.mediaType);
  });

  afterAll(async () => {
    await mirror?.close();
    await proxy?.stop();
  });

  test('are proxied from the upstream referrers API', async () => {
    const res = await mirror.fetch(`/v2/up.test/team/app/referrers/${cachedImage.digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.oci.image.index.v1+json');
    const index = (await res.json()) as { manifests: { artifactType?: string }[] };
    expect(index.manifests.map((m) => m.artifactType)).toEqual(['application/vnd.marina.test.sig']);
    expect(proxy.count((r) => r.path.includes('/referrers/'))).toBe(1);
    const filtered = await mirror.fetch(`/v2/up.test/team/app/referrers/${cachedImage.digest}?artifactType=none/such`);
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(((await filtered.json()) as any).manifests).toEqual([]);
  });
});

describe('429 with Retry-After', () => {
  let proxy: FaultProxy;
  let mirror: Served;

  beforeAll(async () => {
    proxy = await startFaultProxy(upstream.url);
    mirror = serveMirror({ upstreams: [{ name: 'up.test', url: proxy.url, freshnessSeconds: 0 }], upstreamTimeoutMs: 1000, staleWhileRevalidateSeconds: 0 });
    await pullImage(mirror, 'up.test/team/app', 'v1', cachedImage);
  });

  afterAll(async () => {
    await mirror?.close();
    await proxy?.stop();
  });

  test('serves the cached tag stale and sends nothing upstream until Retry-After has passed', async () => {
    proxy.faults.tooManyRequests = { retryAfterSeconds: 1 };
    proxy.reset();
    const first = await getManifest(mirror, 'up.test/team/app', 'v1');
    // The mirror saw the 429 before this point, so its back-off ends at the latest 1 s from now.
    const throttledBy = Date.now();
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-status')).toBe('marina; hit; detail=stale');
    expect(first.headers.get('warning')).toMatch(WARNING);
    await first.body?.cancel();
    expect(proxy.requests.length).toBe(1);

    // Within the window: cached content is served, uncached content is refused with 429, nothing is sent upstream.
    const again = await getManifest(mirror, 'up.test/team/app', 'v1');
    expect(again.status).toBe(200);
    expect(again.headers.get('warning')).toMatch(WARNING);
    await again.body?.cancel();
    const uncached = await getManifest(mirror, 'up.test/team/app', 'v2');
    expect(uncached.status).toBe(429);
    expect(Number(uncached.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await uncached.json()) as any).errors[0].code).toBe('TOOMANYREQUESTS');
    const blob = await mirror.fetch(`/v2/up.test/team/app/blobs/${uncachedImage.layers[0]!.digest}`);
    expect(blob.status).toBe(429);
    await blob.body?.cancel();
    const tags = await mirror.fetch('/v2/up.test/team/app/tags/list');
    expect(tags.headers.get('cache-status')).toBe('marina; hit; detail=stale');
    await tags.body?.cancel();
    expect(proxy.requests.length).toBe(1);

    // After Retry-After: the upstream is asked again.
    proxy.faults = {};
    await Bun.sleep(Math.max(0, throttledBy + 1050 - Date.now()));
    const after = await getManifest(mirror, 'up.test/team/app', 'v1');
    expect(after.status).toBe(200);
    expect(after.headers.get('warning')).toBeNull();
    expect(after.headers.get('cache-status')).toBe('marina; hit; detail=revalidated');
    await after.body?.cancel();
    expect(proxy.requests.length).toBeGreaterThan(1);
  });
});

describe("Docker Hub's ratelimit-remaining", () => {
  let proxy: FaultProxy;
  let mirror: Served;

  beforeAll(async () => {
    proxy = await startFaultProxy(upstream.url);
    mirror = serveMirror({ upstreams: [{ name: 'up.test', url: proxy.url, freshnessSeconds: 0 }], rateLimitReserve: 10, staleWhileRevalidateSeconds: 0 });
  });

  afterAll(async () => {
    await mirror?.close();
    await proxy?.stop();
  });

  test('a low budget serves cached tags without revalidating; uncached content is still fetched', async () => {
    proxy.faults.rateLimitRemaining = 3;
    await pullImage(mirror, 'up.test/team/app', 'v1', cachedImage);
    proxy.reset();
    for (let i = 0; i < 3; i++) {
      const res = await getManifest(mirror, 'up.test/team/app', 'v1');
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-status')).toBe('marina; hit; detail=stale');
      await res.body?.cancel();
    }
    expect(proxy.manifestRequests('team/app')).toEqual([]);
    // A budget of 3 still allows what is not cached at all.
    await pullImage(mirror, 'up.test/team/app', 'v2', uncachedImage);
    expect(proxy.manifestRequests('team/app').length).toBeGreaterThan(0);

    // A refilled budget, seen on the next upstream answer, brings revalidation back.
    proxy.faults.rateLimitRemaining = 500;
    await pullImage(mirror, 'up.test/team/app', 'v3', thirdImage);
    proxy.reset();
    const res = await getManifest(mirror, 'up.test/team/app', 'v1');
    expect(res.headers.get('cache-status')).toBe('marina; hit; detail=revalidated');
    await res.body?.cancel();
    expect(proxy.manifestRequests('team/app').map((r) => r.method)).toEqual(['HEAD']);
  });
});
