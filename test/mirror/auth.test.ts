/**
 * Upstream authentication: the Bearer token handshake (credentials go to the token realm only, tokens are cached
 * per repository), a realm on another host gets no credentials, and plain Basic upstreams.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';
import { getManifest, serveMirror, serveRegistry, sha256, type Served } from './support/harness.ts';
import { pushImage, randomImage, type Image } from './support/images.ts';

const USER = { username: 'mirror-bot', password: 's3cret-pass' };
const BASIC = `Basic ${btoa(`${USER.username}:${USER.password}`)}`;
let upstream: Served;
const app = randomImage([2000, 3000], 'auth-app');
const tool = randomImage([1000], 'auth-tool');

beforeAll(async () => {
  upstream = serveRegistry();
  await pushImage(upstream.url, 'team/app', 'v1', app);
  await pushImage(upstream.url, 'team/tool', 'v1', tool);
});

afterAll(async () => {
  await upstream?.close();
});

async function pull(mirror: Served, name: string, image: Image): Promise<void> {
  const manifest = await getManifest(mirror, name, 'v1');
  expect(manifest.status).toBe(200);
  expect(sha256(new Uint8Array(await manifest.arrayBuffer()))).toBe(image.digest);
  for (const blob of image.blobs) {
    const res = await mirror.fetch(`/v2/${name}/blobs/${blob.digest}`);
    expect(res.status).toBe(200);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(blob.digest);
  }
}

describe('Bearer token upstream', () => {
  let proxy: FaultProxy;
  let mirror: Served;

  beforeAll(async () => {
    proxy = await startFaultProxy(upstream.url, { auth: USER });
    mirror = serveMirror({ upstreams: [{ name: 'private.test', url: proxy.url, credentials: USER, freshnessSeconds: 0 }], staleWhileRevalidateSeconds: 0 });
  });

  afterAll(async () => {
    await mirror?.close();
    await proxy?.stop();
  });

  test('credentials go only to the token realm, and one token serves every request of a repository', async () => {
    await pull(mirror, 'private.test/team/app', app);
    // Revalidations (freshness 0) reuse the token too.
    for (let i = 0; i < 3; i++) await getManifest(mirror, 'private.test/team/app', 'v1').then((r) => r.body?.cancel());
    const tokenRequests = proxy.requests.filter((r) => r.path === '/token');
    expect(tokenRequests.length).toBe(1);
    expect(tokenRequests[0]!.authorization).toBe(BASIC);
    expect(tokenRequests[0]!.query).toContain(`scope=${encodeURIComponent('repository:team/app:pull')}`);
    const registryRequests = proxy.requests.filter((r) => r.path.startsWith('/v2/'));
    expect(registryRequests.length).toBeGreaterThan(app.blobs.length + 3);
    for (const r of registryRequests) expect(r.authorization === null || r.authorization.startsWith('Bearer ')).toBe(true);
    // Only the first request went out without a token (to learn the challenge).
    expect(registryRequests.filter((r) => r.authorization === null).length).toBe(1);
    // The mirror's own count of upstream requests (token requests included) matches what the upstream saw.
    expect((await mirror.registry.mirror!.stats()).upstreams['private.test']!.requests).toBe(proxy.requests.length);
  });

  test('another repository needs its own token (its own scope)', async () => {
    await pull(mirror, 'private.test/team/tool', tool);
    const tokenRequests = proxy.requests.filter((r) => r.path === '/token');
    expect(tokenRequests.length).toBe(2);
    expect(tokenRequests[1]!.query).toContain(`scope=${encodeURIComponent('repository:team/tool:pull')}`);
  });
});

describe('a token realm on another host', () => {
  let tokenServer: FaultProxy;
  let proxy: FaultProxy;
  let mirror: Served;

  beforeAll(async () => {
    tokenServer = await startFaultProxy(upstream.url, { auth: USER });
    proxy = await startFaultProxy(upstream.url, { auth: { ...USER, realm: '' } });
    // The registry accepts tokens of the other server's realm; the realm is another host:port.
    proxy.auth = { ...USER, realm: `${tokenServer.url}/token` };
    mirror = serveMirror({ upstreams: [{ name: 'private.test', url: proxy.url, credentials: USER }] });
  });

  afterAll(async () => {
    await mirror?.close();
    await proxy?.stop();
    await tokenServer?.stop();
  });

  test('is refused: nothing is sent to it, no credentials leave, and the client gets a 502 that names no realm', async () => {
    const res = await getManifest(mirror, 'private.test/team/app', 'v1');
    expect(res.status).toBe(502);
    const body = (await res.json()) as any;
    expect(body.errors[0].code).toBe('UNKNOWN');
    expect(JSON.stringify(body)).not.toContain(String(tokenServer.port));
    expect(tokenServer.requests.length).toBe(0);
    for (const r of proxy.requests) expect(r.authorization?.startsWith('Basic ') ?? false).toBe(false);
  });
});

describe('Basic upstream', () => {
  let proxy: FaultProxy;
  let mirror: Served;

  beforeAll(async () => {
    proxy = await startFaultProxy(upstream.url, { auth: { ...USER, scheme: 'basic' } });
    mirror = serveMirror({ upstreams: [{ name: 'basic.test', url: proxy.url, credentials: USER }] });
  });

  afterAll(async () => {
    await mirror?.close();
    await proxy?.stop();
  });

  test('answers the Basic challenge with the configured credentials', async () => {
    await pull(mirror, 'basic.test/team/app', app);
    const answered = proxy.requests.filter((r) => r.authorization !== null);
    expect(answered.length).toBeGreaterThanOrEqual(1 + app.blobs.length);
    for (const r of answered) expect(r.authorization).toBe(BASIC);
  });

  test('wrong credentials: the client gets 403 DENIED, not a challenge-less 401', async () => {
    const wrong = serveMirror({ upstreams: [{ name: 'basic.test', url: proxy.url, credentials: { username: USER.username, password: 'nope' } }] });
    try {
      const res = await getManifest(wrong, 'basic.test/team/app', 'v1');
      expect(res.status).toBe(403);
      expect(((await res.json()) as any).errors[0].code).toBe('DENIED');
    } finally {
      await wrong.close();
    }
  });
});
