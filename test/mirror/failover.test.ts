/**
 * Fail-over between an upstream's URLs (issue #16): when the first URL is down, a real Distribution 2.8 listed as a
 * fallback serves the image; content by digest is fetched once across both URLs.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startDistribution, type DistributionServer } from '../support/distribution.ts';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';
import { getManifest, serveMirror, serveRegistry, sha256, type Served } from './support/harness.ts';
import { pushImage, randomImage } from './support/images.ts';

let upstream: Served;
let distribution: DistributionServer;
let primary: FaultProxy;
let secondary: FaultProxy;
let mirror: Served;
const image = randomImage([5000, 300_000], 'failover');

beforeAll(async () => {
  upstream = serveRegistry();
  distribution = await startDistribution();
  await pushImage(upstream.url, 'team/app', 'v1', image);
  await pushImage(distribution.url, 'team/app', 'v1', image);
  primary = await startFaultProxy(upstream.url);
  secondary = await startFaultProxy(distribution.url);
  mirror = serveMirror({
    upstreams: [{ name: 'up.test', url: primary.url, fallbackUrls: [secondary.url] }],
    upstreamTimeoutMs: 500,
  });
}, 30_000);

afterAll(async () => {
  await mirror?.close();
  await primary?.stop();
  await secondary?.stop();
  await distribution?.stop();
  await upstream?.close();
});

test('with the first URL down, the image is served from the fallback URL, each blob fetched once', async () => {
  await primary.kill();
  const manifest = await getManifest(mirror, 'up.test/team/app', 'v1');
  expect(manifest.status).toBe(200);
  expect(sha256(new Uint8Array(await manifest.arrayBuffer()))).toBe(image.digest);
  for (const blob of image.blobs) {
    const [a, b] = await Promise.all([0, 1].map(() => mirror.fetch(`/v2/up.test/team/app/blobs/${blob.digest}`)));
    for (const res of [a!, b!]) {
      expect(res.status).toBe(200);
      expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(blob.digest);
    }
    expect(secondary.blobGets(blob.digest).length + primary.blobGets(blob.digest).length).toBe(1);
  }
  expect(primary.requests).toEqual([]);
  expect(secondary.manifestRequests('team/app').length).toBeGreaterThan(0);
});

test('once the first URL is back, tags come from it again', async () => {
  await primary.revive();
  secondary.reset();
  // The first URL's circuit may be open after the outage; wait for its cool-down.
  await Bun.sleep(1100);
  const other = randomImage([100], 'failover-primary-only');
  await pushImage(upstream.url, 'team/app', 'only-primary', other);
  const res = await getManifest(mirror, 'up.test/team/app', 'only-primary');
  expect(res.status).toBe(200);
  expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(other.digest);
  expect(primary.manifestRequests('team/app').length).toBeGreaterThan(0);
});
