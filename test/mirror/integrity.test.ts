/**
 * A blob fill never stores or completes bad data: wrong bytes upstream fail the clients and store nothing; a
 * connection reset or a stalled body is resumed with Range from where it stopped; closing the registry stops fills.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';
import { compareGet, hasBlobFile, serveMirror, serveRegistry, spoolFiles, until, type Served } from './support/harness.ts';
import { makeImage, pushImage, randomBytes } from './support/images.ts';

const MiB = 1024 * 1024;
let upstream: Served;
let proxy: FaultProxy;
let mirror: Served;
const image = makeImage([randomBytes(4 * MiB), randomBytes(8 * MiB), randomBytes(6 * MiB), randomBytes(5 * MiB)], { label: 'integrity' });
const [corruptLayer, resetLayer, stallLayer, closeLayer] = image.layers as [typeof image.layers[0], typeof image.layers[0], typeof image.layers[0], typeof image.layers[0]];

beforeAll(async () => {
  upstream = serveRegistry();
  await pushImage(upstream.url, 'team/app', 'v1', image);
  proxy = await startFaultProxy(upstream.url);
  mirror = serveMirror({ upstreams: [{ name: 'up.test', url: proxy.url }], upstreamTimeoutMs: 500, fillRetries: 3 });
});

afterEach(() => {
  proxy.faults = {};
});

afterAll(async () => {
  await mirror?.close();
  await proxy?.stop();
  await upstream?.close();
});

const blobUrl = (digest: string) => `${mirror.url}/v2/up.test/team/app/blobs/${digest}`;
const stats = async () => (await mirror.registry.mirror!.stats()).upstreams['up.test']!;

describe('wrong bytes upstream', () => {
  test('the clients never get a complete body, nothing is cached, and a fixed upstream is used next time', async () => {
    proxy.faults.corruptBlob = corruptLayer.digest;
    proxy.faults.blobBytesPerSecond = 16 * MiB;
    // Three clients meet one fill of bad bytes.
    const results = await Promise.all([0, 1, 2].map(() => compareGet(blobUrl(corruptLayer.digest), corruptLayer.bytes)));
    for (const r of results) {
      expect(r.equal).toBe(false);
      expect(r.error !== undefined || r.bytes < corruptLayer.bytes.byteLength).toBe(true);
      expect(r.bytes).toBeLessThan(corruptLayer.bytes.byteLength);
    }
    expect(proxy.blobGets(corruptLayer.digest).length).toBe(1);
    expect(hasBlobFile(mirror.root, corruptLayer.digest)).toBe(false);
    expect(spoolFiles(mirror.root)).toEqual([]);
    expect(await mirror.registry.mirror!.ledger.totalBytes()).toBe(0);

    // Still corrupt: a new request tries again (a failed fill is not joined) and fails again.
    proxy.faults.blobBytesPerSecond = undefined;
    const again = await compareGet(blobUrl(corruptLayer.digest), corruptLayer.bytes);
    expect(again.equal).toBe(false);
    expect(proxy.blobGets(corruptLayer.digest).length).toBe(2);
    expect(hasBlobFile(mirror.root, corruptLayer.digest)).toBe(false);

    proxy.faults = {};
    const fixed = await compareGet(blobUrl(corruptLayer.digest), corruptLayer.bytes);
    expect(fixed.status).toBe(200);
    expect(fixed.equal).toBe(true);
    await until(() => hasBlobFile(mirror.root, corruptLayer.digest), 5000, 'blob stored');
    const cached = await compareGet(blobUrl(corruptLayer.digest), corruptLayer.bytes);
    expect(cached.headers.get('cache-status')).toBe('marina; hit');
    expect(cached.equal).toBe(true);
  });
});

describe('broken transfers', () => {
  test('a connection reset mid-blob is resumed with Range; the client gets correct bytes', async () => {
    const before = (await stats()).bytesFetched;
    proxy.faults.resetBlob = { digest: resetLayer.digest, afterBytes: 3 * MiB, times: 1 };
    const r = await compareGet(blobUrl(resetLayer.digest), resetLayer.bytes);
    expect(r.error).toBeUndefined();
    expect(r.equal).toBe(true);
    const gets = proxy.blobGets(resetLayer.digest);
    expect(gets.length).toBe(2);
    expect(gets[0]!.range).toBeNull();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(3 * MiB);
    // Resumed, not refetched: exactly the blob's size came from upstream.
    expect((await stats()).bytesFetched - before).toBe(resetLayer.bytes.byteLength);
    await until(() => hasBlobFile(mirror.root, resetLayer.digest), 5000, 'blob stored');
    expect(spoolFiles(mirror.root)).toEqual([]);
  });

  test('a body that stalls is given up after the upstream timeout and resumed with Range', async () => {
    proxy.faults.stallBlob = { digest: stallLayer.digest, afterBytes: 2 * MiB, times: 1 };
    const started = performance.now();
    const r = await compareGet(blobUrl(stallLayer.digest), stallLayer.bytes);
    expect(r.equal).toBe(true);
    expect(performance.now() - started).toBeLessThan(3000);
    const gets = proxy.blobGets(stallLayer.digest);
    expect(gets.length).toBe(2);
    expect(gets[1]!.range).toMatch(/^bytes=[1-9]\d*-$/);
  });
});

describe('shutdown', () => {
  test('closing the registry stops a running fill: nothing stored, no spool left, the client fails', async () => {
    const own = serveMirror({ upstreams: [{ name: 'up.test', url: proxy.url }], upstreamTimeoutMs: 60_000 });
    proxy.faults.stallBlob = { digest: closeLayer.digest, afterBytes: MiB, times: 1 };
    const pending = compareGet(`${own.url}/v2/up.test/team/app/blobs/${closeLayer.digest}`, closeLayer.bytes);
    await until(async () => (await own.registry.mirror!.stats()).upstreams['up.test']!.bytesFetched >= MiB, 5000, 'fill started');
    const started = performance.now();
    await own.close({ removeData: false });
    expect(performance.now() - started).toBeLessThan(2000);
    const r = await pending;
    expect(r.equal).toBe(false);
    expect(hasBlobFile(own.root, closeLayer.digest)).toBe(false);
    expect(spoolFiles(own.root)).toEqual([]);
    (await import('node:fs')).rmSync(own.root, { recursive: true, force: true });
  });
});
