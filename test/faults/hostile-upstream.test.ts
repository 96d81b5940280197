/**
 * A hostile upstream (issue #9 item 4): the mirror bounds every body it reads from an upstream in bytes and time,
 * sends credentials only where the operator allowed, follows no realm, Link or redirect into places it must not
 * reach, and never hands the upstream's own words to its clients.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { addressClass } from '../../src/mirror/upstream-fetch.ts';
import { MAX_RETRY_AFTER_MS, retryAfterMs } from '../../src/mirror/upstream.ts';
import { startFaultProxy, type FaultProxy, type TokenAuth } from '../mirror/support/fault-proxy.ts';
import { getManifest, hasBlobFile, hashGet, type Served, serveMirror, serveRegistry, sha256, spoolFiles, timed } from '../mirror/support/harness.ts';
import { pushImage, randomImage } from '../mirror/support/images.ts';
import { tempDir } from '../helpers/registry.ts';

const USER = { username: 'mirror', password: 'mirror-secret' };
const TIMEOUT_MS = 400;

let upstream: Served;
const image = randomImage([3000, 100_000], 'hostile');
const moved = randomImage([2000], 'moved');
const big = randomImage([1024 * 1024], 'big');

beforeAll(async () => {
  upstream = serveRegistry();
  await pushImage(upstream.url, 'team/app', 'v1', image);
  await pushImage(upstream.url, 'team/app', 'v2', image);
  await pushImage(upstream.url, 'team/app', 'next', moved);
  await pushImage(upstream.url, 'team/app', 'big', big);
});

afterAll(async () => {
  await upstream?.close();
});

/** Basic credentials or any token a test might have leaked, in one recorded Authorization header. */
function carriesCredentials(authorization: string | null): boolean {
  return authorization !== null && authorization.length > 0;
}

describe('bodies', () => {
  let proxy: FaultProxy;
  let mirror: Served;

  beforeAll(async () => {
    proxy = await startFaultProxy(upstream.url, { auth: USER });
    mirror = serveMirror({
      upstreams: [{ name: 'h.test', url: proxy.url, credentials: USER, freshnessSeconds: 0 }],
      upstreamTimeoutMs: TIMEOUT_MS,
      upstreamMinBytesPerSecond: 64 * 1024,
      upstreamRateWindowMs: 300,
      fillRetries: 1,
      // Every tag read asks upstream first, so the hostile bodies are always in the way.
      staleWhileRevalidateSeconds: 0,
    });
    // v1 is cached (and, with freshness 0, revalidated on every read).
    const res = await getManifest(mirror, 'h.test/team/app', 'v1');
    expect(res.status).toBe(200);
    await res.body?.cancel();
  });

  afterEach(() => {
    proxy.faults = {};
  });

  afterAll(async () => {
    await mirror?.close();
    await proxy?.stop();
  });

  test('a stalled manifest body ends in a clear 502 for the first and a second request for the tag, within the body deadline', async () => {
    proxy.faults.stallManifest = { afterBytes: 10 };
    const first = timed(() => getManifest(mirror, 'h.test/team/app', 'next'));
    await Bun.sleep(100);
    const second = await timed(() => getManifest(mirror, 'h.test/team/app', 'next'));
    for (const { value, ms } of [await first, second]) {
      expect(value.status).toBe(502);
      expect(((await value.json()) as any).errors[0].code).toBe('UNKNOWN');
      expect(ms).toBeLessThan(4 * TIMEOUT_MS);
    }
    proxy.faults = {};
    const after = await getManifest(mirror, 'h.test/team/app', 'next');
    expect(after.status).toBe(200);
    expect(sha256(new Uint8Array(await after.arrayBuffer()))).toBe(moved.digest);
  });

  test('a stalled manifest body of a tag that moved upstream: both requests get the cached image stale', async () => {
    // v2 is cached pointing at `image`; upstream then moves it, and the new manifest's body stalls.
    const cached = await getManifest(mirror, 'h.test/team/app', 'v2');
    await cached.body?.cancel();
    const other = randomImage([1000], 'moved-v2');
    await pushImage(upstream.url, 'team/app', 'v2', other);
    proxy.faults.stallManifest = { afterBytes: 10 };
    const first = timed(() => getManifest(mirror, 'h.test/team/app', 'v2'));
    await Bun.sleep(100);
    const second = await timed(() => getManifest(mirror, 'h.test/team/app', 'v2'));
    for (const { value, ms } of [await first, second]) {
      expect(value.status).toBe(200);
      expect(value.headers.get('warning')).toMatch(/^299 /);
      expect(sha256(new Uint8Array(await value.arrayBuffer()))).toBe(image.digest);
      expect(ms).toBeLessThan(4 * TIMEOUT_MS);
    }
  });

  test('a manifest announced at 1 GiB is refused before its body is read', async () => {
    proxy.faults.hugeManifest = { announce: 2 ** 30 };
    const rssBefore = process.memoryUsage().rss;
    const { value: res, ms } = await timed(() => getManifest(mirror, 'h.test/team/app', sha256(crypto.randomUUID())));
    expect(res.status).toBe(502);
    await res.body?.cancel();
    expect(ms).toBeLessThan(4 * TIMEOUT_MS);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
  });

  test('an endless chunked manifest is cut off at maxManifestSize', async () => {
    proxy.faults.hugeManifest = {};
    proxy.hostileBytesSent = 0;
    const { value: res, ms } = await timed(() => getManifest(mirror, 'h.test/team/app', sha256(crypto.randomUUID())));
    expect(res.status).toBe(502);
    await res.body?.cancel();
    expect(ms).toBeLessThan(5000);
    // Socket buffers hold a few MiB at most beyond the 4 MiB cap.
    expect(proxy.hostileBytesSent).toBeLessThan(16 * 1024 * 1024);
  });

  test('an endless chunked blob is cut off at its size: the client never gets a complete body, nothing is stored', async () => {
    const layer = image.layers[1]!;
    proxy.faults.endlessBlob = layer.digest;
    proxy.hostileBytesSent = 0;
    // The answer may break before or after its headers: either way no complete body.
    const result = await hashGet(`${mirror.url}/v2/h.test/team/app/blobs/${layer.digest}`).catch((error) => ({ bytes: 0, digest: undefined, error: String(error) }));
    expect(result.digest === layer.digest).toBe(false);
    expect(result.bytes).toBeLessThan(layer.bytes.byteLength);
    await Bun.sleep(100);
    const sent = proxy.hostileBytesSent;
    await Bun.sleep(300);
    // The connection is closed: nothing more is being sent.
    expect(proxy.hostileBytesSent).toBe(sent);
    expect(sent).toBeLessThan(16 * 1024 * 1024);
    expect(hasBlobFile(mirror.root, layer.digest)).toBe(false);
    expect(spoolFiles(mirror.root)).toEqual([]);
  });

  test('a blob trickled below the minimum rate is cut off instead of held open', async () => {
    // 512-byte pieces every ~130 ms: never silent long enough for the idle timeout, far below the rate floor.
    const layer = big.layers[0]!;
    proxy.faults.blobBytesPerSecond = 4000;
    const { value: result, ms } = await timed(() => hashGet(`${mirror.url}/v2/h.test/team/app/blobs/${layer.digest}`).catch((error) => ({ digest: undefined, error: String(error) })));
    expect(result.digest === layer.digest).toBe(false);
    // Two attempts (fillRetries 1), each cut after one 300 ms window; at 4000 B/s the blob would take 4 minutes.
    expect(ms).toBeLessThan(3000);
    expect(hasBlobFile(mirror.root, layer.digest)).toBe(false);
  });

  test("the upstream's error text never reaches the client", async () => {
    const hostileText = 'HOSTILE-UPSTREAM-TEXT <script>';
    for (const [status, code] of [[404, 'MANIFEST_UNKNOWN'], [403, 'DENIED'], [500, 'UNKNOWN'], [400, 'MANIFEST_INVALID']] as const) {
      proxy.faults.errorBody = { status, code, message: hostileText };
      for (const pathname of ['/v2/h.test/team/app/manifests/v9', `/v2/h.test/team/app/blobs/${moved.layers[0]!.digest}`]) {
        const res = await mirror.fetch(pathname, { headers: { Accept: image.mediaType } });
        const text = await res.text();
        expect({ status, pathname, text }).toEqual({ status, pathname, text: expect.not.stringContaining('HOSTILE') });
        expect(res.status).toBeGreaterThanOrEqual(400);
      }
    }
  });
});

describe('where credentials and requests may go', () => {
  let evil: FaultProxy;

  beforeAll(async () => {
    // Another host:port on loopback that records what reaches it (and serves real bytes, so a redirect can succeed).
    evil = await startFaultProxy(upstream.url);
  });

  afterAll(async () => {
    await evil?.stop();
  });

  async function hostileMirror(auth: TokenAuth): Promise<{ proxy: FaultProxy; mirror: Served; close(): Promise<void> }> {
    const proxy = await startFaultProxy(upstream.url, { auth });
    const mirror = serveMirror({ upstreams: [{ name: 'h.test', url: proxy.url, credentials: USER }], upstreamTimeoutMs: TIMEOUT_MS });
    return {
      proxy,
      mirror,
      async close() {
        await mirror.close();
        await proxy.stop();
      },
    };
  }

  test('realm=file://… is never read: no file content reaches the upstream or the client', async () => {
    const dir = tempDir('marina-realm-');
    const file = path.join(dir, 'secret.json');
    fs.writeFileSync(file, JSON.stringify({ token: 'FILE-SECRET-TOKEN' }));
    const h = await hostileMirror({ ...USER, realm: `file://${file}` });
    try {
      const res = await getManifest(h.mirror, 'h.test/team/app', 'v1');
      expect(res.status).toBe(502);
      const text = await res.text();
      expect(text).not.toContain('FILE-SECRET');
      expect(text).not.toContain(file);
      for (const r of h.proxy.requests) expect(r.authorization ?? '').not.toContain('FILE-SECRET');
    } finally {
      await h.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a realm on another loopback port gets no request at all', async () => {
    evil.reset();
    const h = await hostileMirror({ ...USER, realm: `${evil.url}/token` });
    try {
      const res = await getManifest(h.mirror, 'h.test/team/app', 'v1');
      expect(res.status).toBe(502);
      await res.body?.cancel();
      expect(evil.requests).toEqual([]);
    } finally {
      await h.close();
    }
  });

  test('a link-local realm (cloud metadata) is refused without a connection attempt', async () => {
    const h = await hostileMirror({ ...USER, realm: 'http://169.254.169.254/latest/meta-data' });
    try {
      const { value: res, ms } = await timed(() => getManifest(h.mirror, 'h.test/team/app', 'v1'));
      expect(res.status).toBe(502);
      await res.body?.cancel();
      // A connection attempt would wait for the headers timeout.
      expect(ms).toBeLessThan(TIMEOUT_MS);
    } finally {
      await h.close();
    }
  });

  test('a tags Link to another host is not followed: no request, no credentials leave', async () => {
    evil.reset();
    const h = await hostileMirror(USER);
    try {
      h.proxy.faults.tagsLink = `${evil.url}/v2/team/app/tags/list?n=1&last=v1`;
      const res = await h.mirror.fetch('/v2/h.test/team/app/tags/list');
      expect(res.status).toBe(502);
      expect(await res.text()).not.toContain(String(evil.port));
      expect(evil.requests).toEqual([]);
      // The Link's own page was asked for with the mirror's token, as it must be.
      expect(h.proxy.count((r) => r.path === '/v2/team/app/tags/list' && carriesCredentials(r.authorization))).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });

  test('a blob redirect to another host is followed without the Authorization header', async () => {
    evil.reset();
    const h = await hostileMirror(USER);
    const layer = image.layers[0]!;
    try {
      h.proxy.faults.redirectBlob = { digest: layer.digest, location: `${evil.url}/v2/team/app/blobs/${layer.digest}` };
      const result = await hashGet(`${h.mirror.url}/v2/h.test/team/app/blobs/${layer.digest}`);
      expect(result.status).toBe(200);
      expect(result.digest).toBe(layer.digest);
      const reached = evil.requests.filter((r) => r.path.endsWith(layer.digest));
      expect(reached.length).toBeGreaterThan(0);
      for (const r of reached) expect(r.authorization).toBeNull();
      // The redirect came from an authenticated request: the mirror had a token to leak.
      expect(h.proxy.count((r) => r.path.endsWith(layer.digest) && carriesCredentials(r.authorization))).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });
  test('a blob redirect to a link-local address (cloud metadata) is refused without a connection attempt', async () => {
    const h = await hostileMirror(USER);
    const layer = image.layers[0]!;
    try {
      h.proxy.faults.redirectBlob = { digest: layer.digest, location: `http://169.254.169.254/v2/team/app/blobs/${layer.digest}` };
      const { value: res, ms } = await timed(() => h.mirror.fetch(`/v2/h.test/team/app/blobs/${layer.digest}`));
      expect(res.status).toBe(502);
      expect(await res.text()).not.toContain('169.254');
      expect(ms).toBeLessThan(TIMEOUT_MS);
    } finally {
      await h.close();
    }
  });
});

describe('address classes for the loopback/link-local rule', () => {
  test('loopback, link-local and public hosts are told apart by their literal address', () => {
    const cls = (u: string) => addressClass(new URL(u));
    expect(['http://127.0.0.1:5000', 'http://127.9.9.9', 'http://localhost', 'http://a.localhost', 'http://[::1]', 'http://0.0.0.0', 'http://[::ffff:127.0.0.1]'].map(cls)).toEqual(Array(7).fill('loopback'));
    expect(['http://169.254.169.254', 'http://[fe80::1]'].map(cls)).toEqual(['link-local', 'link-local']);
    expect(['https://registry-1.docker.io', 'http://10.0.0.1', 'http://8.8.8.8', 'http://[2001:db8::1]'].map(cls)).toEqual(Array(4).fill('public'));
  });
});

describe('Retry-After from an upstream', () => {
  test('cannot silence the upstream for more than an hour, in seconds or as a date', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('99999999999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs('Fri, 31 Dec 2100 23:59:59 GMT', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs(`${'9'.repeat(5000)}`, now)).toBe(60_000);
  });
});
