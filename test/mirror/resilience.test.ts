/**
 * The mirror when its upstream misbehaves (issue #16): stale tags are answered at once and revalidated in the
 * background (RFC 5861), a stale-if-error horizon ends stale answers, and a per-upstream circuit breaker stops
 * dialling a sick upstream, probes it with one request after a growing cool-down, and closes when it recovers.
 */
import * as fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { tempDir } from '../helpers/registry.ts';
import { startServer } from '../helpers/server.ts';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';
import { getManifest, type Served, serveMirror, serveRegistry, sha256, spoolFiles, timed, until } from './support/harness.ts';
import { pushImage, randomImage } from './support/images.ts';

let upstream: Served;
const first = randomImage([3000], 'swr-first');
const second = randomImage([3000], 'swr-second');
const large = randomImage([4 * 1024 * 1024], 'crash');

beforeAll(async () => {
  upstream = serveRegistry();
  await pushImage(upstream.url, 'team/app', 'v1', first);
  await pushImage(upstream.url, 'team/app', 'fixed', first);
  await pushImage(upstream.url, 'team/app', 'large', large);
});

afterAll(async () => {
  await upstream?.close();
});

async function digestOf(res: Response): Promise<string> {
  return sha256(new Uint8Array(await res.arrayBuffer()));
}

describe('stale-while-revalidate', () => {
  let proxy: FaultProxy;
  let mirror: Served;

  beforeAll(async () => {
    proxy = await startFaultProxy(upstream.url);
    // Freshness 0: every read is past freshness; the default stale-while-revalidate window covers it.
    mirror = serveMirror({ upstreams: [{ name: 'up.test', url: proxy.url, freshnessSeconds: 0 }], upstreamTimeoutMs: 1000 });
    expect(await digestOf(await getManifest(mirror, 'up.test/team/app', 'v1'))).toBe(first.digest);
  });

  afterEach(() => {
    proxy.faults = {};
  });

  afterAll(async () => {
    await mirror?.close();
    await proxy?.stop();
  });

  test('fifty concurrent reads of a stale tag against a hanging upstream are all answered from cache at once, with one revalidation', async () => {
    proxy.faults.delayMs = 10_000;
    proxy.reset();
    const results = await Promise.all(Array.from({ length: 50 }, () => timed(() => getManifest(mirror, 'up.test/team/app', 'v1'))));
    const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
    for (const { value } of results) {
      expect(value.status).toBe(200);
      expect(value.headers.get('cache-status')).toBe('marina; hit; detail=stale-while-revalidate');
      expect(value.headers.get('warning')).toBe('110 - "Response is Stale"');
      expect(await digestOf(value)).toBe(first.digest);
    }
    console.log(`stale answers with a hanging upstream: median ${latencies[25]!.toFixed(1)} ms, max ${latencies[49]!.toFixed(1)} ms`);
    // Issue #16 asks for 50 ms; the bound leaves room for a loaded CI machine without admitting a 1 s upstream wait.
    expect(latencies[49]!).toBeLessThan(250);
    // One background revalidation for the tag, however many clients asked (it may reach the proxy after the answers).
    await until(() => proxy.manifestRequests('team/app').length > 0, 2000, 'the background revalidation');
    await Bun.sleep(100);
    expect(proxy.manifestRequests('team/app').length).toBe(1);
  });

  test('the background revalidation brings a moved tag in: a later read serves the new image', async () => {
    await pushImage(upstream.url, 'team/app', 'v1', second);
    const stale = await getManifest(mirror, 'up.test/team/app', 'v1');
    // Answered at once from cache; the new image arrives in the background.
    expect(await digestOf(stale)).toBe(first.digest);
    // Reads keep being answered at once; one of them (once the hanging revalidation of the last test has given up)
    // starts the revalidation that brings the new image in.
    await until(async () => (await digestOf(await getManifest(mirror, 'up.test/team/app', 'v1'))) === second.digest, 5000, 'background revalidation');
    expect(String(await mirror.registry.storage.index.resolveTag('up.test/team/app', 'v1'))).toBe(second.digest);
  });
});

describe('stale-if-error', () => {
  test('a cached tag stands in for a dead upstream only within the horizon', async () => {
    const proxy = await startFaultProxy(upstream.url);
    const mirror = serveMirror({
      upstreams: [{ name: 'up.test', url: proxy.url, freshnessSeconds: 0 }],
      staleWhileRevalidateSeconds: 0,
      staleIfErrorSeconds: 1,
      upstreamTimeoutMs: 500,
    });
    try {
      expect(await digestOf(await getManifest(mirror, 'up.test/team/app', 'fixed'))).toBe(first.digest);
      await proxy.kill();
      const within = await getManifest(mirror, 'up.test/team/app', 'fixed');
      expect(within.status).toBe(200);
      expect(within.headers.get('cache-status')).toBe('marina; hit; detail=stale');
      await within.body?.cancel();
      await Bun.sleep(1100);
      const past = await getManifest(mirror, 'up.test/team/app', 'fixed');
      expect(past.status).toBe(503);
      expect(((await past.json()) as any).errors[0].message).toContain('up.test');
    } finally {
      await mirror.close();
      await proxy.stop();
    }
  });
});

describe('circuit breaker', () => {
  let proxy: FaultProxy;
  let mirror: Served;
  const TIMEOUT = 200;
  const missing = () => `/v2/up.test/team/app/manifests/${sha256(crypto.randomUUID())}`;
  const circuit = async () => (await mirror.registry.mirror!.stats()).upstreams['up.test']!.circuit;

  beforeAll(async () => {
    proxy = await startFaultProxy(upstream.url);
    mirror = serveMirror({
      upstreams: [{ name: 'up.test', url: proxy.url, freshnessSeconds: 0 }],
      upstreamTimeoutMs: TIMEOUT,
      staleWhileRevalidateSeconds: 0,
      breaker: { failureThreshold: 3, cooldownMs: 400, maxCooldownMs: 5000 },
    });
    expect(await digestOf(await getManifest(mirror, 'up.test/team/app', 'fixed'))).toBe(first.digest);
  });

  afterAll(async () => {
    await mirror?.close();
    await proxy?.stop();
  });

  test('opens after repeated timeouts, stays open (no dialling, fast 503 naming the upstream, stale at once), half-opens with one probe, and closes on recovery', async () => {
    proxy.faults.delayMs = 5000;
    for (let i = 0; i < 3; i++) {
      const { value, ms } = await timed(() => mirror.fetch(missing()));
      expect(value.status).toBe(503);
      await value.body?.cancel();
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT - 20);
    }
    expect(await circuit()).toBe('open');

    // Open: nothing reaches the upstream; uncached content fails fast with a 503 that names it; cached is stale.
    proxy.reset();
    for (let i = 0; i < 5; i++) {
      const { value, ms } = await timed(() => mirror.fetch(missing()));
      expect(value.status).toBe(503);
      expect(value.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await value.json()) as any).errors[0].message).toContain('up.test');
      expect(ms).toBeLessThan(50);
    }
    const { value: stale, ms: staleMs } = await timed(() => getManifest(mirror, 'up.test/team/app', 'fixed'));
    expect(stale.status).toBe(200);
    expect(stale.headers.get('cache-status')).toBe('marina; hit; detail=stale');
    await stale.body?.cancel();
    expect(staleMs).toBeLessThan(50);
    expect(proxy.requests).toEqual([]);

    // After the cool-down one probe goes out; others still fail fast meanwhile. The probe times out: open again.
    await Bun.sleep(450);
    proxy.reset();
    const probe = timed(() => mirror.fetch(missing()));
    await Bun.sleep(30);
    const { value: other, ms: otherMs } = await timed(() => mirror.fetch(missing()));
    expect(other.status).toBe(503);
    await other.body?.cancel();
    expect(otherMs).toBeLessThan(50);
    const probed = await probe;
    expect(probed.value.status).toBe(503);
    await probed.value.body?.cancel();
    expect(probed.ms).toBeGreaterThanOrEqual(TIMEOUT - 20);
    expect(proxy.requests.length).toBe(1);
    expect(await circuit()).toBe('open');

    // The cool-down doubled (800 ms): at 450 ms it is still open.
    await Bun.sleep(450);
    const early = await mirror.fetch(missing());
    expect(early.status).toBe(503);
    await early.body?.cancel();
    expect(proxy.requests.length).toBe(1);

    // The upstream recovers; after the cool-down the probe succeeds and the circuit closes.
    proxy.faults = {};
    await Bun.sleep(400);
    const recovered = await getManifest(mirror, 'up.test/team/app', 'fixed');
    expect(recovered.status).toBe(200);
    expect(recovered.headers.get('cache-status')).toBe('marina; hit; detail=revalidated');
    await recovered.body?.cancel();
    expect(await circuit()).toBe('closed');
  });
});

describe('a crash in the middle of a fill', () => {
  test('leaves no spool file once `marina serve` restarts on the same data', async () => {
    const proxy = await startFaultProxy(upstream.url);
    const data = tempDir('marina-mirror-crash-');
    const layer = large.layers[0]!;
    try {
      let server = await startServer(data, ['--mirror', `up.test=${proxy.url}`]);
      proxy.faults.stallBlob = { digest: layer.digest, afterBytes: 1024 * 1024, times: 1 };
      const reading = fetch(`${server.url}/v2/up.test/team/app/blobs/${layer.digest}`).then((r) => r.arrayBuffer()).catch(() => undefined);
      await until(() => spoolFiles(data).some((f) => f.startsWith('fill-')), 5000, 'a spool file');
      expect(await server.stop('SIGKILL')).not.toBe(0);
      await reading;
      expect(spoolFiles(data).filter((f) => f.startsWith('fill-')).length).toBe(1);
      server = await startServer(data, ['--mirror', `up.test=${proxy.url}`]);
      expect(spoolFiles(data).filter((f) => f.startsWith('fill-'))).toEqual([]);
      expect(server.stderr()).toContain('removed spool files of interrupted fills');
      // One request first: serve.ts installs its SIGTERM handler just after the startup line.
      expect((await fetch(`${server.url}/v2/`)).status).toBe(200);
      expect(await server.stop()).toBe(0);
    } finally {
      await proxy.stop();
      fs.rmSync(data, { recursive: true, force: true });
    }
  }, 30_000);
});
