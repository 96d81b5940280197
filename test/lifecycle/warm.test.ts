/**
 * Cache warm-up against a real upstream (Distribution 2.8 from Debian) behind a recording proxy: a multi-platform
 * index warmed for one platform fetches only that platform's blobs, a later pull asks the upstream for no blob,
 * and a second warm-up finds everything cached.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { warmImages } from '../../src/lifecycle/warm.ts';
import { startDistribution, type DistributionServer } from '../support/distribution.ts';
import { startFaultProxy, type FaultProxy } from '../mirror/support/fault-proxy.ts';
import { ACCEPT_MANIFESTS, serveMirror, type Served } from '../mirror/support/harness.ts';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeImage, makeIndex, OCI_INDEX, pushImage, pushManifest, randomImage, tarGzLayer, type Image } from '../mirror/support/images.ts';
import { startContainerd } from '../mirror/support/tools.ts';

let dist: DistributionServer;
let proxy: FaultProxy;
let mirror: Served;
const amd64: Image = randomImage([300_000, 1_200_000], 'warm-amd64');
const arm64: Image = randomImage([250_000, 900_000], 'warm-arm64');
const index = makeIndex([
  { image: amd64, architecture: 'amd64' },
  { image: arm64, architecture: 'arm64' },
]);
// Real gzip tar layers, so containerd can unpack what it pulls.
const unpackable = (label: string) => {
  const a = tarGzLayer(`${label}-a.txt`, `${label}: first layer\n`);
  const b = tarGzLayer(`${label}-b.txt`, `${label}: second layer\n`.repeat(5000));
  return makeImage([a.layer, b.layer], { label, diffIds: [a.diffId, b.diffId] });
};
const ctrAmd64 = unpackable('warm-ctr-amd64');
const ctrArm64 = unpackable('warm-ctr-arm64');
const ctrIndex = makeIndex([
  { image: ctrAmd64, architecture: 'amd64' },
  { image: ctrArm64, architecture: 'arm64' },
]);
const bytesOf = (image: Image) => image.blobs.reduce((n, b) => n + b.bytes.byteLength, 0);

beforeAll(async () => {
  dist = await startDistribution();
  await pushImage(dist.url, 'team/multi', amd64.digest, amd64);
  await pushImage(dist.url, 'team/multi', arm64.digest, arm64);
  await pushManifest(dist.url, 'team/multi', 'v1', index.bytes, OCI_INDEX);
  await pushImage(dist.url, 'team/ctr', ctrAmd64.digest, ctrAmd64);
  await pushImage(dist.url, 'team/ctr', ctrArm64.digest, ctrArm64);
  await pushManifest(dist.url, 'team/ctr', 'v1', ctrIndex.bytes, OCI_INDEX);
  proxy = await startFaultProxy(dist.url);
  mirror = serveMirror({ upstreams: [{ name: 'dist.test', url: proxy.url }] });
}, 60_000);

afterAll(async () => {
  await mirror?.close();
  await proxy?.stop();
  await dist?.stop();
});

const blobRequests = () => proxy.requests.filter((r) => r.path.includes('/blobs/'));

describe('cache warm-up', () => {
  test('warming one platform of an index fetches exactly its blobs, and a later pull asks upstream for no blob', async () => {
    proxy.reset();
    const lines: string[] = [];
    const report = await warmImages((r) => mirror.registry.fetch(r), ['dist.test/team/multi:v1'], { platforms: ['linux/amd64'], concurrency: 2, onProgress: (m) => lines.push(m) });
    expect(report).toMatchObject({ images: 1, manifests: 2, fetchedBlobs: amd64.blobs.length, fetchedBytes: bytesOf(amd64), cachedBlobs: 0, skippedPlatforms: 1, failures: [] });
    expect(lines.filter((l) => l.startsWith('fetched'))).toHaveLength(amd64.blobs.length);
    for (const blob of arm64.blobs) expect(proxy.blobGets(blob.digest)).toHaveLength(0);
    for (const blob of amd64.blobs) expect(proxy.blobGets(blob.digest)).toHaveLength(1);

    // A client now pulls the amd64 image through the mirror over HTTP: every blob comes from the cache.
    proxy.reset();
    const top = await mirror.fetch('/v2/dist.test/team/multi/manifests/v1', { headers: { Accept: ACCEPT_MANIFESTS } });
    expect(top.status).toBe(200);
    const child = (await top.json()) as { manifests: { digest: string; platform: { architecture: string } }[] };
    const amdDigest = child.manifests.find((m) => m.platform.architecture === 'amd64')!.digest;
    const image = (await (await mirror.fetch(`/v2/dist.test/team/multi/manifests/${amdDigest}`, { headers: { Accept: ACCEPT_MANIFESTS } })).json()) as { config: { digest: string }; layers: { digest: string }[] };
    for (const d of [image.config, ...image.layers]) {
      const res = await mirror.fetch(`/v2/dist.test/team/multi/blobs/${d.digest}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-status')).toBe('marina; hit');
      await res.arrayBuffer();
    }
    expect(blobRequests()).toHaveLength(0);
  }, 60_000);

  test('a second warm-up finds everything cached and fetches nothing', async () => {
    proxy.reset();
    const report = await warmImages((r) => mirror.registry.fetch(r), ['dist.test/team/multi:v1'], { platforms: ['linux/amd64'] });
    expect(report).toMatchObject({ fetchedBlobs: 0, fetchedBytes: 0, cachedBlobs: amd64.blobs.length, cachedBytes: bytesOf(amd64), failures: [] });
    expect(blobRequests()).toHaveLength(0);
  }, 60_000);

  test('an unknown image is reported as a failure, the rest still warms', async () => {
    const report = await warmImages((r) => mirror.registry.fetch(r), ['dist.test/team/nothing:v1', 'not a ref', 'dist.test/team/multi:v1'], { platforms: ['linux/arm64'] });
    expect(report.images).toBe(1);
    expect(report.failures).toHaveLength(2);
    expect(report.failures[0]).toContain('dist.test/team/nothing:v1: manifest dist.test/team/nothing:v1: HTTP 404');
    expect(report).toMatchObject({ fetchedBlobs: arm64.blobs.length, fetchedBytes: bytesOf(arm64) });
  }, 60_000);

  test('containerd then pulls the warmed platform through the mirror without one upstream blob request', async () => {
    const warmed = await warmImages((r) => mirror.registry.fetch(r), ['dist.test/team/ctr:v1'], { platforms: ['linux/amd64'] });
    expect(warmed).toMatchObject({ fetchedBlobs: ctrAmd64.blobs.length, failures: [] });
    proxy.reset();
    const containerd = await startContainerd();
    try {
      const hostDir = path.join(containerd.hostsDir, 'dist.test');
      fs.mkdirSync(hostDir);
      fs.writeFileSync(path.join(hostDir, 'hosts.toml'), `server = "http://127.0.0.1:9"\n\n[host."${mirror.url}"]\n  capabilities = ["pull", "resolve"]\n`);
      await containerd.ctr(['images', 'pull', '--platform', 'linux/amd64', '--hosts-dir', containerd.hostsDir, '--snapshotter', 'native', 'dist.test/team/ctr:v1']);
      const content = (await containerd.ctr(['content', 'ls', '--quiet'])).stdout.split('\n');
      for (const blob of ctrAmd64.blobs) expect(content).toContain(blob.digest);
      expect(blobRequests()).toHaveLength(0);
    } finally {
      await containerd.stop();
    }
  }, 90_000);
});
