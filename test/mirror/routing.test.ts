/**
 * Which upstream a request reaches: containerd's `?ns=`, a path prefix, the default upstream with Docker Hub's
 * `library/` normalisation; unknown namespaces refused without dialling; pushes into mirrored namespaces refused
 * (unless overlay); local repositories with plain names stay local.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { RegistryClient } from '../../src/client/client.ts';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';
import { getManifest, serveMirror, serveRegistry, sha256, type Served } from './support/harness.ts';
import { pushImage, randomImage, type Image } from './support/images.ts';

let hub: Served;
let hubProxy: FaultProxy;
let other: Served;
let otherProxy: FaultProxy;
let overlay: Served;
let mirror: Served;
const alpine = randomImage([2048, 4096], 'alpine');
const app = randomImage([3000], 'app');
const app2 = randomImage([3500], 'app2');
const base = randomImage([1500], 'overlay-base');

beforeAll(async () => {
  hub = serveRegistry();
  other = serveRegistry();
  overlay = serveRegistry();
  await pushImage(hub.url, 'library/alpine', 'latest', alpine);
  await pushImage(other.url, 'team/app', 'v1', app);
  await pushImage(other.url, 'team/app', 'v2', app2);
  await pushImage(overlay.url, 'base', 'v1', base);
  hubProxy = await startFaultProxy(hub.url);
  otherProxy = await startFaultProxy(other.url);
  mirror = serveMirror({
    upstreams: [
      { name: 'docker.io', url: hubProxy.url },
      { name: 'upstream.test', url: otherProxy.url },
      { name: 'overlay.test', url: overlay.url, overlay: true },
    ],
    defaultUpstream: 'docker.io',
  });
});

afterAll(async () => {
  await mirror?.close();
  await Promise.all([hubProxy?.stop(), otherProxy?.stop()]);
  await Promise.all([hub?.close(), other?.close(), overlay?.close()]);
});

async function expectImage(res: Response, image: Image): Promise<void> {
  expect(res.status).toBe(200);
  const bytes = new Uint8Array(await res.arrayBuffer());
  expect(sha256(bytes)).toBe(image.digest);
  expect(res.headers.get('docker-content-digest')).toBe(image.digest);
}

describe('mirror routing', () => {
  test('a path prefix names the upstream; the second read is a cache hit', async () => {
    const first = await getManifest(mirror, 'upstream.test/team/app', 'v1');
    expect(first.headers.get('cache-status')).toContain('fwd=miss');
    await expectImage(first, app);
    const second = await getManifest(mirror, 'upstream.test/team/app', 'v1');
    expect(second.headers.get('cache-status')).toBe('marina; hit');
    await expectImage(second, app);
    expect(otherProxy.manifestRequests('team/app').length).toBeGreaterThan(0);
    const layer = await mirror.fetch(`/v2/upstream.test/team/app/blobs/${app.layers[0]!.digest}`);
    expect(sha256(new Uint8Array(await layer.arrayBuffer()))).toBe(app.layers[0]!.digest);
  });

  test('?ns= routes to the same cache and is echoed as OCI-Namespace', async () => {
    const before = otherProxy.requests.length;
    const res = await getManifest(mirror, 'team/app', 'v1', '?ns=upstream.test');
    await expectImage(res, app);
    expect(res.headers.get('oci-namespace')).toBe('upstream.test');
    expect(res.headers.get('cache-status')).toBe('marina; hit');
    // The ns spelling shares the cache of the prefix spelling: no upstream request at all.
    expect(otherProxy.requests.length).toBe(before);
    const blob = await mirror.fetch(`/v2/team/app/blobs/${app.layers[0]!.digest}?ns=upstream.test`);
    expect(blob.status).toBe(200);
    expect(blob.headers.get('oci-namespace')).toBe('upstream.test');
    expect(sha256(new Uint8Array(await blob.arrayBuffer()))).toBe(app.layers[0]!.digest);
  });

  test('?ns= also accepts the upstream host as containerd writes it', async () => {
    const host = new URL(otherProxy.url).host;
    const res = await getManifest(mirror, 'team/app', 'v1', `?ns=${host}`);
    await expectImage(res, app);
    expect(res.headers.get('oci-namespace')).toBe(host);
  });

  test('a plain name goes to the default upstream, normalised with library/', async () => {
    const res = await getManifest(mirror, 'alpine', 'latest');
    await expectImage(res, alpine);
    expect(hubProxy.manifestRequests('library/alpine').length).toBeGreaterThan(0);
    expect(hubProxy.manifestRequests('alpine').length).toBe(0);
    const layer = await mirror.fetch(`/v2/alpine/blobs/${alpine.layers[1]!.digest}`);
    expect(sha256(new Uint8Array(await layer.arrayBuffer()))).toBe(alpine.layers[1]!.digest);
  });

  test('every spelling of a Docker Hub name shares one cache', async () => {
    const before = hubProxy.requests.length;
    for (const [name, query] of [
      ['docker.io/alpine', ''],
      ['docker.io/library/alpine', ''],
      ['alpine', '?ns=docker.io'],
      ['library/alpine', '?ns=docker.io'],
    ] as const) {
      const res = await getManifest(mirror, name, 'latest', query);
      expect(res.headers.get('cache-status')).toBe('marina; hit');
      await expectImage(res, alpine);
    }
    expect(hubProxy.requests.length).toBe(before);
  });

  test('an unknown ns is refused with 403 DENIED and no upstream is dialled', async () => {
    const before = hubProxy.requests.length + otherProxy.requests.length;
    const res = await getManifest(mirror, 'library/alpine', 'latest', '?ns=evil.example.com');
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).errors[0].code).toBe('DENIED');
    const blob = await mirror.fetch(`/v2/library/alpine/blobs/${alpine.layers[0]!.digest}?ns=127.0.0.2:80`);
    expect(blob.status).toBe(403);
    await blob.body?.cancel();
    expect(hubProxy.requests.length + otherProxy.requests.length).toBe(before);
  });

  test('pushes and deletes into a mirrored namespace are refused with 403 DENIED', async () => {
    const client = new RegistryClient({ registry: mirror.url });
    const attempts: [string, string, RequestInit][] = [
      ['POST upload (prefix)', '/v2/upstream.test/team/app/blobs/uploads/', { method: 'POST' }],
      ['POST upload (ns)', '/v2/team/app/blobs/uploads/?ns=upstream.test', { method: 'POST' }],
      ['PUT manifest', '/v2/upstream.test/team/app/manifests/evil', { method: 'PUT', headers: { 'Content-Type': app.mediaType }, body: app.manifest }],
      ['DELETE manifest', `/v2/upstream.test/team/app/manifests/${app.digest}`, { method: 'DELETE' }],
      ['DELETE blob', `/v2/docker.io/library/alpine/blobs/${alpine.layers[0]!.digest}`, { method: 'DELETE' }],
    ];
    for (const [what, pathname, init] of attempts) {
      const res = await mirror.fetch(pathname, init);
      expect({ what, status: res.status }).toEqual({ what, status: 403 });
      const text = await res.text();
      expect(JSON.parse(text).errors[0].code).toBe('DENIED');
      // The upstream's address (which may carry credentials) is never told to clients.
      expect(text).not.toContain(otherProxy.url);
      expect(text).not.toContain(hubProxy.url);
    }
    await expect(client.pushBlob('upstream.test/team/app', new Uint8Array([1, 2, 3]), sha256(new Uint8Array([1, 2, 3])))).rejects.toThrow(/403/);
    // The cached image is still there.
    await expectImage(await getManifest(mirror, 'upstream.test/team/app', 'v1'), app);
  });

  test('a plain name pushed to the mirror becomes a local repository and stays local', async () => {
    const local = randomImage([1024], 'local');
    await pushImage(mirror.url, 'myapp', 'v1', local);
    const before = hubProxy.requests.length;
    const res = await getManifest(mirror, 'myapp', 'v1');
    await expectImage(res, local);
    expect(res.headers.get('cache-status')).toBeNull();
    const blob = await mirror.fetch(`/v2/myapp/blobs/${local.layers[0]!.digest}`);
    expect(sha256(new Uint8Array(await blob.arrayBuffer()))).toBe(local.layers[0]!.digest);
    const tags = await mirror.fetch('/v2/myapp/tags/list');
    expect(await tags.json()).toEqual({ name: 'myapp', tags: ['v1'] });
    expect(hubProxy.requests.length).toBe(before);
    expect(hubProxy.manifestRequests('library/myapp')).toEqual([]);
  });

  test('an overlay upstream accepts pushes; pushed tags are served locally beside mirrored ones', async () => {
    const mine = randomImage([777], 'overlay-mine');
    await pushImage(mirror.url, 'overlay.test/base', 'mine', mine);
    await expectImage(await getManifest(mirror, 'overlay.test/base', 'mine'), mine);
    await expectImage(await getManifest(mirror, 'overlay.test/base', 'v1'), base);
    const tags = (await (await mirror.fetch('/v2/overlay.test/base/tags/list')).json()) as { tags: string[] };
    expect(tags.tags).toEqual(['mine', 'v1']);
  });

  test('tags/list is proxied and paginated; the next link keeps ns', async () => {
    const all = await mirror.fetch('/v2/upstream.test/team/app/tags/list');
    expect(all.headers.get('cache-status')).toBe('marina; fwd=miss');
    expect(await all.json()).toEqual({ name: 'upstream.test/team/app', tags: ['v1', 'v2'] });
    const page = await mirror.fetch('/v2/team/app/tags/list?n=1&ns=upstream.test');
    expect(await page.json()).toEqual({ name: 'team/app', tags: ['v1'] });
    const link = page.headers.get('link') ?? '';
    expect(link).toContain('ns=upstream.test');
    const next = await mirror.fetch(/<([^>]+)>/.exec(link)![1]!);
    expect(await next.json()).toEqual({ name: 'team/app', tags: ['v2'] });
  });

  test('concurrent cold requests for one manifest make one upstream fetch', async () => {
    const before = otherProxy.manifestRequests('team/app').filter((r) => r.method === 'GET').length;
    const results = await Promise.all(Array.from({ length: 20 }, () => getManifest(mirror, 'upstream.test/team/app', 'v2')));
    for (const r of results) await expectImage(r, app2);
    const outcomes = results.map((r) => r.headers.get('cache-status'));
    expect(outcomes.filter((o) => o === 'marina; fwd=miss').length).toBe(1);
    expect(outcomes.filter((o) => o?.includes('detail=joined')).length).toBe(19);
    expect(otherProxy.manifestRequests('team/app').filter((r) => r.method === 'GET').length - before).toBe(1);
  });

  test('what the upstream does not have is 404 with the spec code', async () => {
    const tag = await getManifest(mirror, 'upstream.test/team/app', 'nope');
    expect(tag.status).toBe(404);
    expect(((await tag.json()) as any).errors[0].code).toBe('MANIFEST_UNKNOWN');
    const blob = await mirror.fetch(`/v2/upstream.test/team/app/blobs/${sha256('not there')}`);
    expect(blob.status).toBe(404);
    expect(((await blob.json()) as any).errors[0].code).toBe('BLOB_UNKNOWN');
    const repo = await mirror.fetch('/v2/upstream.test/team/none/tags/list');
    expect(repo.status).toBe(404);
    expect(((await repo.json()) as any).errors[0].code).toBe('NAME_UNKNOWN');
  });

  test('the catalog and /v2/ stay local endpoints', async () => {
    expect((await mirror.fetch('/v2/')).status).toBe(200);
    const catalog = (await (await mirror.fetch('/v2/_catalog')).json()) as { repositories: string[] };
    expect(catalog.repositories).toContain('myapp');
    expect(catalog.repositories).toContain('upstream.test/team/app');
  });
});

describe('mirror counters', () => {
  test('cache outcomes and bytes served from the cache are counted per upstream as well as in total', async () => {
    const before = (await mirror.registry.mirror!.stats());
    const layer = app.layers[0]!;
    // A blob this repository already holds (the routing tests pulled team/app): two hits on upstream.test only.
    const path = `/v2/upstream.test/team/app/blobs/${layer.digest}`;
    for (let i = 0; i < 2; i++) {
      const res = await mirror.fetch(path);
      expect(res.status).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer()).byteLength).toBe(layer.bytes.byteLength);
    }
    const after = (await mirror.registry.mirror!.stats());
    const own = (s: typeof after, name: string) => s.upstreams[name]!;
    expect(own(after, 'upstream.test').hits - own(before, 'upstream.test').hits).toBe(2);
    expect(own(after, 'upstream.test').bytesServedFromCache - own(before, 'upstream.test').bytesServedFromCache).toBe(2 * layer.bytes.byteLength);
    expect(own(after, 'docker.io').hits).toBe(own(before, 'docker.io').hits);
    expect(after.hits - before.hits).toBe(2);
    const sum = (s: typeof after, k: 'hits' | 'misses' | 'joined' | 'stale') => Object.values(s.upstreams).reduce((n, u) => n + u[k], 0);
    for (const k of ['hits', 'misses', 'joined', 'stale'] as const) expect(sum(after, k)).toBe(after[k]);
  });
});
