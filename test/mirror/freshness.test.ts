/**
 * Tag freshness: a tag moved upstream is seen once its freshness window has passed and not before; manifests by
 * digest never go stale; the freshness state lives in the data directory, so a restarted `marina serve` does not
 * ask the upstream again about a tag that is still fresh.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { startServer } from '../helpers/server.ts';
import { tempDir } from '../helpers/registry.ts';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';
import { ACCEPT_MANIFESTS, getManifest, serveMirror, serveRegistry, sha256, type Served } from './support/harness.ts';
import { pushImage, randomImage, type Image } from './support/images.ts';

let upstream: Served;
let proxy: FaultProxy;
const X = randomImage([3000], 'X');
const Y = randomImage([4000], 'Y');

beforeAll(async () => {
  upstream = serveRegistry();
  await pushImage(upstream.url, 'team/app', 'v1', X);
  await pushImage(upstream.url, 'team/volatile', 'v1', X);
  await pushImage(upstream.url, 'team/restart', 'v1', X);
  proxy = await startFaultProxy(upstream.url);
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

async function digestOf(res: Response): Promise<string> {
  expect(res.status).toBe(200);
  return sha256(new Uint8Array(await res.arrayBuffer()));
}

describe('a tag moved upstream', () => {
  let mirror: Served;

  beforeAll(() => {
    mirror = serveMirror({ upstreams: [{ name: 'up.test', url: proxy.url, freshnessSeconds: 2, freshnessByRepository: { 'team/vol*': 0 } }], staleWhileRevalidateSeconds: 0 });
  });

  afterAll(async () => {
    await mirror?.close();
  });

  test('is not seen within the freshness window, and is seen after it', async () => {
    const first = await getManifest(mirror, 'up.test/team/app', 'v1');
    const pulledAt = Date.now();
    expect(await digestOf(first)).toBe(X.digest);
    await pushImage(upstream.url, 'team/app', 'v1', Y);
    proxy.reset();

    const within = await getManifest(mirror, 'up.test/team/app', 'v1');
    expect(await digestOf(within)).toBe(X.digest);
    expect(within.headers.get('cache-status')).toBe('marina; hit');
    expect(proxy.requests).toEqual([]);
    expect(Date.now() - pulledAt).toBeLessThan(2000);

    await Bun.sleep(Math.max(0, pulledAt + 2050 - Date.now()));
    const after = await getManifest(mirror, 'up.test/team/app', 'v1');
    expect(await digestOf(after)).toBe(Y.digest);
    expect(after.headers.get('cache-status')).toBe('marina; fwd=miss');
    // Revalidation is a HEAD; only the new manifest is fetched whole.
    expect(proxy.requests.map((r) => `${r.method} ${r.path.split('/manifests/')[1]}`)).toEqual(['HEAD v1', `GET ${Y.digest}`]);

    const again = await getManifest(mirror, 'up.test/team/app', 'v1');
    expect(await digestOf(again)).toBe(Y.digest);
    expect(again.headers.get('cache-status')).toBe('marina; hit');
  });

  test('manifests by digest never go stale: the old image is still served without asking upstream', async () => {
    proxy.reset();
    await Bun.sleep(2050);
    const old = await getManifest(mirror, 'up.test/team/app', X.digest);
    expect(await digestOf(old)).toBe(X.digest);
    expect(old.headers.get('cache-status')).toBe('marina; hit');
    expect(proxy.requests).toEqual([]);
  });

  test('a per-repository freshness override applies (0 s: every read revalidates)', async () => {
    await getManifest(mirror, 'up.test/team/volatile', 'v1').then(digestOf);
    proxy.reset();
    const res = await getManifest(mirror, 'up.test/team/volatile', 'v1');
    expect(await digestOf(res)).toBe(X.digest);
    expect(res.headers.get('cache-status')).toBe('marina; hit; detail=revalidated');
    expect(proxy.requests.map((r) => r.method)).toEqual(['HEAD']);
  });
});

describe('a restarted `marina serve --mirror`', () => {
  test('keeps freshness: a fresh tag is served after the restart without any upstream request', async () => {
    const data = tempDir('marina-mirror-restart-');
    const flags = ['--mirror', `up.test=${proxy.url}`, '--mirror-freshness', '3600', '--mirror-stale-while-revalidate', '0', '--cache-max', '1GiB'];
    try {
      let server = await startServer(data, flags);
      const pull = async () => {
        const manifest = await fetch(`${server.url}/v2/up.test/team/restart/manifests/v1`, { headers: { Accept: ACCEPT_MANIFESTS } });
        const outcome = manifest.headers.get('cache-status');
        expect(await digestOf(manifest)).toBe(X.digest);
        for (const blob of X.blobs) {
          const res = await fetch(`${server.url}/v2/up.test/team/restart/blobs/${blob.digest}`);
          expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(blob.digest);
        }
        return outcome;
      };
      expect(await pull()).toBe('marina; fwd=miss');
      expect(await server.stop()).toBe(0);
      expect(server.stderr()).toContain('mirror');

      proxy.reset();
      server = await startServer(data, flags);
      expect(await pull()).toBe('marina; hit');
      expect(proxy.requests).toEqual([]);
      expect(await server.stop()).toBe(0);

      // The same data with a shorter freshness window: now the tag is due for revalidation.
      server = await startServer(data, ['--mirror', `up.test=${proxy.url}`, '--mirror-freshness', '0', '--mirror-stale-while-revalidate', '0']);
      expect(await pull()).toBe('marina; hit; detail=revalidated');
      expect(proxy.requests.map((r) => r.method)).toEqual(['HEAD']);
      expect(await server.stop()).toBe(0);
    } finally {
      fs.rmSync(data, { recursive: true, force: true });
    }
  }, 30_000);
});
