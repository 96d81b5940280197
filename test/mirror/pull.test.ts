/**
 * Pulls through the mirror from a real CNCF Distribution 2.8 upstream (behind the counting fault proxy): skopeo by
 * path prefix and by the default upstream, containerd with `ns=` from a hosts.toml, an index whose children are
 * fetched lazily, referrers through the tag-schema fallback, and one 64 MiB layer wanted by 50 clients at once.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RegistryClient } from '../../src/client/client.ts';
import { startDistribution, type DistributionServer } from '../support/distribution.ts';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';
import { compareGet, getManifest, hasBlobFile, hashGet, serveMirror, spoolFiles, until, type Served } from './support/harness.ts';
import { makeImage, makeIndex, pushImage, pushManifest, randomBytes, randomImage, sha256, tarGzLayer, OCI_INDEX, type Image } from './support/images.ts';
import { run, startContainerd, tempDir, tool, type Containerd } from './support/tools.ts';

const MiB = 1024 * 1024;
let dist: DistributionServer;
let proxy: FaultProxy;
let mirror: Served;
let work: string;

function unpackableImage(label: string): { image: Image; diffIds: string[] } {
  const a = tarGzLayer(`${label}-a.txt`, `${label}: first layer\n`);
  const b = tarGzLayer(`${label}-b.txt`, `${label}: second layer\n`.repeat(1000));
  const diffIds = [a.diffId, b.diffId];
  return { image: makeImage([a.layer, b.layer], { label, diffIds }), diffIds };
}

const app = unpackableImage('app').image;
const forContainerd = unpackableImage('containerd');
// skopeo compresses layers it finds uncompressed (changing digests), so these layers are real gzip.
const gzipImage = (sizes: number[], label: string) => makeImage(sizes.map((n) => Bun.gzipSync(randomBytes(n))), { label });
const busybox = gzipImage([10_000, 200_000], 'busybox');
const amd64 = gzipImage([3000], 'amd64');
const arm64 = gzipImage([4000], 'arm64');
const multi = makeIndex([
  { image: amd64, architecture: 'amd64' },
  { image: arm64, architecture: 'arm64' },
]);
let bigA: Image;
let bigB: Image;

beforeAll(async () => {
  work = tempDir('mirror-pull');
  dist = await startDistribution();
  bigA = makeImage([randomBytes(64 * MiB)], { label: 'big-a' });
  bigB = makeImage([randomBytes(64 * MiB)], { label: 'big-b' });
  await pushImage(dist.url, 'team/app', 'v1', app);
  await pushImage(dist.url, 'team/ctr', 'v1', forContainerd.image);
  await pushImage(dist.url, 'library/busybox', '1', busybox);
  await pushImage(dist.url, 'team/multi', amd64.digest, amd64);
  await pushImage(dist.url, 'team/multi', arm64.digest, arm64);
  await pushManifest(dist.url, 'team/multi', 'v1', multi.bytes, OCI_INDEX);
  await pushImage(dist.url, 'team/big', 'a', bigA);
  await pushImage(dist.url, 'team/big', 'b', bigB);
  proxy = await startFaultProxy(dist.url);
  mirror = serveMirror({
    upstreams: [
      { name: 'dist.test', url: proxy.url },
      { name: 'docker.io', url: proxy.url },
    ],
    defaultUpstream: 'docker.io',
  });
}, 60_000);

afterAll(async () => {
  await mirror?.close();
  await proxy?.stop();
  await dist?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** `skopeo copy` from the mirror into an OCI layout; returns the layout directory. */
async function skopeoCopy(reference: string, name: string): Promise<string> {
  const dir = path.join(work, name);
  await run([tool('skopeo'), '--insecure-policy', 'copy', '--src-tls-verify=false', `docker://${mirror.host}/${reference}`, `oci:${dir}:latest`], { timeoutMs: 60_000 });
  return dir;
}

/** Checks an OCI layout holds exactly the image's manifest and blobs, byte for byte. */
function expectLayout(dir: string, image: Image): void {
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  expect(index.manifests.map((m) => m.digest)).toEqual([image.digest]);
  const read = (digest: string) => new Uint8Array(fs.readFileSync(path.join(dir, 'blobs', ...digest.split(':'))));
  expect(Buffer.from(read(image.digest)).equals(Buffer.from(image.manifest))).toBe(true);
  for (const blob of image.blobs) expect(Buffer.from(read(blob.digest)).equals(Buffer.from(blob.bytes))).toBe(true);
}

describe('pull through a Distribution 2.8 upstream', () => {
  test('skopeo copies an image by path prefix, byte-identical to the upstream', async () => {
    const dir = await skopeoCopy('dist.test/team/app:v1', 'app');
    expectLayout(dir, app);
    // What the upstream itself serves is what came through.
    const direct = await fetch(`${dist.url}/v2/team/app/manifests/v1`, { headers: { Accept: app.mediaType } });
    expect(sha256(new Uint8Array(await direct.arrayBuffer()))).toBe(app.digest);
    for (const blob of app.blobs) expect(proxy.blobGets(blob.digest).length).toBe(1);
    // A second copy is served from the cache: no new blob request upstream.
    const before = proxy.count((r) => r.path.includes('/blobs/'));
    expectLayout(await skopeoCopy('dist.test/team/app:v1', 'app-again'), app);
    expect(proxy.count((r) => r.path.includes('/blobs/'))).toBe(before);
  });

  test('skopeo copies a plain name through the default upstream, as library/<name>', async () => {
    const dir = await skopeoCopy('busybox:1', 'busybox');
    expectLayout(dir, busybox);
    expect(proxy.manifestRequests('library/busybox').length).toBeGreaterThan(0);
    expect(proxy.manifestRequests('busybox')).toEqual([]);
  });

  test('an index is stored whole; only the child and blobs a client asks for are fetched', async () => {
    const dir = await skopeoCopy('dist.test/team/multi:v1', 'multi');
    // skopeo picks the linux/amd64 image of the index.
    expectLayout(dir, amd64);
    expect(proxy.manifestRequests('team/multi').some((r) => r.path.endsWith(`/${amd64.digest}`))).toBe(true);
    expect(proxy.manifestRequests('team/multi').some((r) => r.path.endsWith(`/${arm64.digest}`))).toBe(false);
    for (const blob of arm64.blobs) expect(proxy.blobGets(blob.digest)).toEqual([]);
    const index = await getManifest(mirror, 'dist.test/team/multi', multi.digest);
    expect(index.headers.get('cache-status')).toBe('marina; hit');
    expect(sha256(new Uint8Array(await index.arrayBuffer()))).toBe(multi.digest);
  });

  test('containerd pulls through the mirror with ns= from a hosts.toml, and unpacks', async () => {
    const containerd: Containerd = await startContainerd();
    try {
      const hostDir = path.join(containerd.hostsDir, 'dist.test');
      fs.mkdirSync(hostDir);
      // The server is a closed port: a pull that bypassed the mirror would fail, not quietly succeed.
      fs.writeFileSync(path.join(hostDir, 'hosts.toml'), `server = "http://127.0.0.1:9"\n\n[host."${mirror.url}"]\n  capabilities = ["pull", "resolve"]\n`);
      await containerd.ctr(['images', 'pull', '--hosts-dir', containerd.hostsDir, '--snapshotter', 'native', 'dist.test/team/ctr:v1']);
      const images = (await containerd.ctr(['images', 'ls'])).stdout;
      expect(images).toContain(`dist.test/team/ctr:v1`);
      expect(images).toContain(forContainerd.image.digest);
      const content = (await containerd.ctr(['content', 'ls', '--quiet'])).stdout.split('\n');
      for (const d of [forContainerd.image.digest, ...forContainerd.image.blobs.map((b) => b.digest)]) expect(content).toContain(d);
      const chain = sha256(`${forContainerd.diffIds[0]} ${forContainerd.diffIds[1]}`);
      expect((await containerd.ctr(['snapshots', '--snapshotter', 'native', 'ls'])).stdout).toContain(chain);
      const viaNs = mirror.seen.filter((r) => r.path.startsWith('/v2/team/ctr/') && r.query.includes('ns=dist.test'));
      expect(viaNs.length).toBeGreaterThanOrEqual(1 + forContainerd.image.blobs.length);
      expect(viaNs.every((r) => r.status === 200)).toBe(true);
    } finally {
      await containerd.stop();
    }
  }, 60_000);

  test('referrers come through the tag-schema fallback of an upstream without the referrers API', async () => {
    const client = new RegistryClient({ registry: dist.url });
    const sig = randomImage([100], 'sig');
    const body = JSON.parse(new TextDecoder().decode(sig.manifest));
    body.artifactType = 'application/vnd.marina.test.sig';
    body.subject = { mediaType: app.mediaType, digest: app.digest, size: app.manifest.byteLength };
    const bytes = new TextEncoder().encode(JSON.stringify(body));
    for (const blob of sig.blobs) await client.pushBlob('team/app', blob.bytes, blob.digest);
    const pushed = await client.putManifest('team/app', sha256(bytes), bytes, sig.mediaType);
    expect(pushed.subjectHandled).toBe(true);
    const res = await mirror.fetch(`/v2/dist.test/team/app/referrers/${app.digest}`);
    expect(res.status).toBe(200);
    const list = (await res.json()) as { manifests: { digest: string; artifactType?: string }[] };
    expect(list.manifests).toEqual([expect.objectContaining({ digest: sha256(bytes), artifactType: 'application/vnd.marina.test.sig' })]);
    const fallbackTag = `sha256-${app.digest.slice(7)}`;
    expect(proxy.manifestRequests('team/app').some((r) => r.path.endsWith(`/${fallbackTag}`))).toBe(true);
  });

  test('a 64 MiB layer: cold through the mirror, then warm from the cache', async () => {
    const layer = bigA.layers[0]!;
    const url = `${mirror.url}/v2/dist.test/team/big/blobs/${layer.digest}`;
    let started = performance.now();
    const cold = await compareGet(url, layer.bytes);
    const coldMs = performance.now() - started;
    started = performance.now();
    const warm = await compareGet(url, layer.bytes);
    const warmMs = performance.now() - started;
    expect(cold.equal).toBe(true);
    expect(cold.headers.get('cache-status')).toBe('marina; fwd=miss');
    expect(warm.equal).toBe(true);
    expect(warm.headers.get('cache-status')).toBe('marina; hit');
    expect(warm.headers.get('content-length')).toBe(String(64 * MiB));
    console.log(`64 MiB layer through the mirror: cold ${coldMs.toFixed(0)} ms, warm ${warmMs.toFixed(0)} ms`);
    expect(proxy.blobGets(layer.digest).length).toBe(1);
  }, 30_000);

  test('50 concurrent cold GETs of one 64 MiB layer make ONE upstream request; a Range GET joins the fill', async () => {
    const layer = bigB.layers[0]!;
    const stats0 = (await mirror.registry.mirror!.stats());
    const url = `${mirror.url}/v2/dist.test/team/big/blobs/${layer.digest}`;
    // Slow the upstream so that every client, the Range reader and the leaver meet one fill in progress.
    proxy.faults.blobBytesPerSecond = 40 * MiB;
    try {
      const started = performance.now();
      // Every body is compared byte for byte with the layer (exact, and cheaper than 50 SHA-256 runs on 2 cores).
      const clients = Array.from({ length: 50 }, () => compareGet(url, layer.bytes));
      // One more client leaves after its first MiB; the fill must go on without it.
      const leaver = (async () => {
        const controller = new AbortController();
        const res = await fetch(url, { signal: controller.signal });
        const reader = res.body!.getReader();
        let got = 0;
        while (got < MiB) got += (await reader.read()).value?.byteLength ?? MiB;
        controller.abort();
        return got;
      })();
      await until(async () => (await mirror.registry.mirror!.stats()).upstreams['dist.test']!.bytesFetched - stats0.upstreams['dist.test']!.bytesFetched > 4 * MiB, 10_000, 'fill progress');
      const range = await fetch(url, { headers: { Range: 'bytes=1048576-3145727' } });
      const rangeBytes = new Uint8Array(await range.arrayBuffer());
      const results = await Promise.all(clients);
      expect(await leaver).toBeGreaterThanOrEqual(MiB);
      const ms = performance.now() - started;

      expect(range.status).toBe(206);
      expect(range.headers.get('content-range')).toBe(`bytes 1048576-3145727/${64 * MiB}`);
      expect(range.headers.get('cache-status')).toContain('detail=joined');
      expect(Buffer.from(rangeBytes).equals(Buffer.from(layer.bytes.subarray(1048576, 3145728)))).toBe(true);
      for (const r of results) {
        expect(r.error).toBeUndefined();
        expect(r.status).toBe(200);
        expect(r.bytes).toBe(64 * MiB);
        expect(r.equal).toBe(true);
      }
      const outcomes = results.map((r) => r.headers.get('cache-status'));
      expect(outcomes.filter((o) => o === 'marina; fwd=miss').length).toBe(1);

      const upstreamGets = proxy.blobGets(layer.digest);
      const stats = (await mirror.registry.mirror!.stats());
      const blobRequests = stats.upstreams['dist.test']!.blobRequests - stats0.upstreams['dist.test']!.blobRequests;
      console.log(
        `50 concurrent cold GETs (+1 Range, +1 leaver) of 64 MiB: ${ms.toFixed(0)} ms; upstream blob GETs at the proxy: ${upstreamGets.length}, ` +
          `in stats: ${blobRequests}; misses +${stats.misses - stats0.misses}, joined +${stats.joined - stats0.joined}, ` +
          `bytes fetched +${stats.upstreams['dist.test']!.bytesFetched - stats0.upstreams['dist.test']!.bytesFetched}`,
      );
      expect(upstreamGets.length).toBe(1);
      expect(upstreamGets[0]!.range).toBeNull();
      expect(blobRequests).toBe(1);
      expect(stats.misses - stats0.misses).toBe(1);
      expect(stats.joined - stats0.joined).toBe(51);
      expect(stats.upstreams['dist.test']!.bytesFetched - stats0.upstreams['dist.test']!.bytesFetched).toBe(64 * MiB);
      await until(() => hasBlobFile(mirror.root, layer.digest), 5000, 'blob committed');
      expect(spoolFiles(mirror.root)).toEqual([]);
    } finally {
      proxy.faults = {};
    }
    // Served from the cache afterwards, counted as bytes served from cache.
    const before = (await mirror.registry.mirror!.stats()).bytesServedFromCache;
    const warm = await hashGet(url);
    expect(warm.digest).toBe(layer.digest);
    expect((await mirror.registry.mirror!.stats()).bytesServedFromCache - before).toBe(64 * MiB);
  }, 60_000);
});
