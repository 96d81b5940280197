/**
 * The load generators count only the expected status (a fast 404 is not throughput), and two generators more than
 * 25% apart fail the case instead of reporting it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runBunLoad } from '../../bench/load/bun-load.ts';
import { CROSS_CHECK_TOLERANCE, chooseGenerator, crossGenerator, disagreement, runLoad } from '../../bench/load/generators.ts';
import type { HttpLoad, LoadResult } from '../../bench/load/types.ts';
import { runCurl } from '../../bench/load/curl.ts';
import { walkPages } from '../../bench/load/walk-pages.ts';
import { runWrk, wrkResult } from '../../bench/load/wrk.ts';
import { crossCheckFailed, summarise } from '../../bench/report/results.ts';
import { Client, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';

let dir: string;
let server: ServerProcess;

beforeAll(async () => {
  dir = tempDir('marina-bench-gen-');
  server = await startServer(path.join(dir, 'data'));
});

afterAll(async () => {
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const MISSING = `/v2/nothing/here/blobs/sha256:${'0'.repeat(64)}`;
const load = (paths: string[], extra: Partial<HttpLoad> = {}): HttpLoad => ({
  baseUrl: server.url,
  method: 'GET',
  paths,
  headers: {},
  connections: 2,
  durationSec: 0.4,
  maxRequests: 100_000,
  okStatus: [200],
  bodySize: 2,
  ...extra,
});

describe('counting only the expected status', () => {
  test('the bundled socket client counts 404 answers as errors, never as requests', async () => {
    const r = await runBunLoad(load([MISSING]));
    expect(r.requests).toBe(0);
    expect(r.errors).toBeGreaterThan(0);
    expect(r.firstError).toContain('404');
  });

  test('the bundled client on fetch counts 404 answers as errors, never as requests', async () => {
    const r = await runBunLoad(load([MISSING], { transport: 'fetch' }));
    expect(r.generator).toBe('bun-fetch');
    expect(r.requests).toBe(0);
    expect(r.errors).toBeGreaterThan(0);
  });

  test('the bundled clients count 200 answers of /v2/ as requests', async () => {
    for (const transport of ['socket', 'fetch'] as const) {
      const r = await runBunLoad(load(['/v2/'], { transport }));
      expect(r.errors).toBe(0);
      expect(r.requests).toBeGreaterThan(0);
    }
  });

  test('wrk counts 404 answers as errors and 200 answers as requests (exact counting for small bodies)', async () => {
    const wrk = Bun.which('wrk') ?? '/opt/marina-tools/bin/wrk';
    expect(fs.existsSync(wrk)).toBe(true); // .ci/install-tools.sh bench installs it
    const missing = await runWrk(wrk, load([MISSING], { durationSec: 1 }), '');
    expect(missing.requests).toBe(0);
    expect(missing.errors).toBeGreaterThan(0);
    const ok = await runWrk(wrk, load(['/v2/'], { durationSec: 1 }), '');
    expect(ok.errors).toBe(0);
    expect(ok.requests).toBeGreaterThan(0);
  }, 20_000);

  test("wrk's count of statuses ≥ 400 is subtracted when the script does not count statuses itself (big bodies)", () => {
    const r = wrkResult({ requests: 10, bytes: 1, duration_us: 1e6, socket_errors: 0, status_errors: 4, ok: -1, unexpected: -1, p50_us: 1, p99_us: 2 });
    expect(r.requests).toBe(6);
    expect(r.errors).toBe(4);
    const exact = wrkResult({ requests: 10, bytes: 1, duration_us: 1e6, socket_errors: 0, status_errors: 0, ok: 7, unexpected: 3, p50_us: 1, p99_us: 2 });
    expect(exact.requests).toBe(7);
    expect(exact.errors).toBe(3);
  });
});

describe('the cross-check', () => {
  const result = (requests: number, generator: LoadResult['generator']): LoadResult => ({ generator, requests, errors: 0, bytes: 0, seconds: 1 });
  const sample = (a: number, b: number, round: number) => ({ value: a, round, load: result(a, 'wrk'), cross: { load: result(b, 'bun'), value: b } });

  test('figures up to 25% apart pass and keep both medians', () => {
    const r = summarise([sample(100, 124, 1), sample(110, 130, 2), sample(90, 112, 3)], 'req/s');
    expect(r.status).toBe('ok');
    expect(r.cross?.generator).toBe('bun');
    expect(r.cross?.median).toBe(124);
    expect(r.cross!.disagreement).toBeCloseTo(0.24, 5);
    expect(crossCheckFailed(r)).toBe(false);
  });

  test('figures more than 25% apart fail the case, naming both generators and figures', () => {
    const r = summarise([sample(100, 130, 1)], 'req/s');
    expect(r.status).toBe('failed');
    expect(r.reason).toContain('wrk 100 vs bun 130 req/s');
    expect(crossCheckFailed(r)).toBe(true);
    expect(r.median).toBe(100);
  });

  test('a generator that measured nothing disagrees with one that measured something', () => {
    expect(disagreement(0, 5)).toBe(Number.POSITIVE_INFINITY);
    expect(disagreement(0, 0)).toBe(0);
    expect(CROSS_CHECK_TOLERANCE).toBe(0.25);
    expect(crossCheckFailed(summarise([sample(50, 0, 1)], 'req/s'))).toBe(true);
  });

  test('every kind of load has a second generator', () => {
    const env = { tools: { wrk: '/usr/bin/wrk' }, cores: '', bunOnly: false };
    expect(crossGenerator(load(['/x']), 'wrk', env)).toBe('bun');
    expect(crossGenerator(load(['/x'], { bodySize: 1 << 30 }), 'bun', env)).toBe('wrk');
    expect(crossGenerator(load(['/x'], { method: 'HEAD' }), 'bun', env)).toBe('bun-fetch');
    expect(crossGenerator(load(['/x'], { walk: true, drainSec: 5 }), 'bun', env)).toBe('wrk');
    expect(crossGenerator(load(['/x'], { walk: true, drainSec: 5 }), 'bun', { ...env, tools: {} })).toBe('bun-fetch');
    expect(crossGenerator(load(['/x']), 'bun', { ...env, bunOnly: true })).toBe('bun-fetch');
  });

  test('bodies bound by bytes are measured by oha and curl, not by wrk and its 8 KiB reads', () => {
    const env = { tools: { wrk: '/usr/bin/wrk', oha: '/opt/oha', curl: '/usr/bin/curl' }, cores: '', bunOnly: false };
    const mib = load(['/x'], { bodySize: 1 << 20 });
    expect(chooseGenerator(mib, 1 << 20, env)).toBe('oha');
    expect(crossGenerator(mib, 'oha', env)).toBe('curl');
    // Too big to complete several times in a window: curl runs whole transfers, the bundled client counts partial ones.
    const gib = load(['/x'], { bodySize: 1 << 30 });
    expect(chooseGenerator(gib, 1 << 30, env)).toBe('curl');
    expect(crossGenerator(gib, 'curl', env)).toBe('bun');
    expect(chooseGenerator(gib, 1 << 30, { ...env, tools: { wrk: '/usr/bin/wrk' } })).toBe('bun');
    // Random ranges are beyond oha: curl sends them, the bundled client checks.
    const ranges = load(['/x'], { bodySize: 1 << 20, randomRange: { length: 1 << 20, size: 1 << 26 } });
    expect(chooseGenerator(ranges, 1 << 20, env)).toBe('curl');
    expect(crossGenerator(ranges, 'curl', env)).toBe('bun');
    expect(chooseGenerator(load(['/x'], { bodySize: 1024 }), 1024, env)).toBe('wrk');
    expect(crossGenerator(load(['/x'], { bodySize: 1024 }), 'wrk', env)).toBe('oha');
    expect(crossGenerator(load(['/x', '/y'], { bodySize: 1024 }), 'wrk', env)).toBe('bun');
    expect(chooseGenerator(load(['/x'], { method: 'HEAD' }), 0, env)).toBe('oha');
    expect(crossGenerator(load(['/x'], { method: 'HEAD' }), 'oha', env)).toBe('bun');
  });
});

describe('curl as a generator', () => {
  const curl = Bun.which('curl') ?? '/usr/bin/curl';

  test('curl counts 404 answers as errors and 200 answers as requests, in a time window', async () => {
    expect(fs.existsSync(curl)).toBe(true); // Debian's curl; .ci/install-tools.sh installs it
    const missing = await runCurl(curl, load([MISSING], { durationSec: 0.5 }), '');
    expect(missing.generator).toBe('curl');
    expect(missing.requests).toBe(0);
    expect(missing.errors).toBeGreaterThan(0);
    expect(missing.firstError).toBe('HTTP 404');
    const ok = await runCurl(curl, load(['/v2/'], { durationSec: 0.5 }), '');
    expect(ok.errors).toBe(0);
    expect(ok.requests).toBeGreaterThan(0);
    expect(ok.seconds).toBeGreaterThan(0.4);
  });

  test('for big bodies curl runs whole transfers, connections × k sized from the expected rate, and times them all', async () => {
    const big = load(['/v2/'], { bodySize: 64 << 20, connections: 2, durationSec: 1 });
    // 2 connections, 64 MiB bodies, 256 MiB/s expected over a 1 s window: 2 transfers each.
    const r = await runCurl(curl, big, '', { expectedBytesPerSec: 256 << 20 });
    expect(r.requests).toBe(4);
    expect(r.errors).toBe(0);
    expect(r.seconds).toBeLessThan(1);
    // At least one transfer per connection however slow the target looked.
    expect((await runCurl(curl, big, '', { expectedBytesPerSec: 1 })).requests).toBe(2);
  });

  test("curl never claims more bytes than the kernel moved over loopback, across several batches", async () => {
    const client = new Client((req) => fetch(req), server.url);
    // Big enough that headers are a small share of the bytes on the wire, small enough for several batches.
    const blob = randomBytes(128 * 1024);
    const digest = `sha256:${new Bun.CryptoHasher('sha256').update(blob).digest('hex')}`;
    expect((await client.send('POST', `/v2/batches/me/blobs/uploads/?digest=${digest}`, { body: blob, headers: { 'content-type': 'application/octet-stream' } })).status).toBe(201);
    const loopback = () => Number(fs.readFileSync('/proc/net/dev', 'utf8').split('\n').find((l) => l.trim().startsWith('lo:'))!.trim().split(/\s+/)[1]);
    const before = loopback();
    const r = await runCurl(curl, load([`/v2/batches/me/blobs/${digest}`], { durationSec: 4, connections: 4, bodySize: blob.length }), '');
    const moved = loopback() - before;
    // More than one batch of 8,192 transfers ran, and every byte counted crossed the loopback interface.
    expect(r.requests).toBeGreaterThan(8192);
    // Only completed 200s count; a transfer that failed (a rare reset on a loaded machine) is an error, not bytes.
    if (r.errors > 0) expect(r.firstError).toBeDefined();
    expect(r.bytes).toBe(r.requests * blob.length);
    expect(r.bytes).toBeLessThanOrEqual(moved);
  }, 20_000);

  test('a random Range is sent on every request and only 206 answers count', async () => {
    const client = new Client((req) => fetch(req), server.url);
    const blob = randomBytes(64 * 1024);
    const digest = `sha256:${new Bun.CryptoHasher('sha256').update(blob).digest('hex')}`;
    const res = await client.send('POST', `/v2/ranges/me/blobs/uploads/?digest=${digest}`, { body: blob, headers: { 'content-type': 'application/octet-stream' } });
    expect(res.status).toBe(201);
    const ranged = load([`/v2/ranges/me/blobs/${digest}`], { okStatus: [206], durationSec: 0.5, randomRange: { length: 1000, size: blob.length }, bodySize: 1000 });
    const r = await runCurl(curl, ranged, '');
    expect(r.errors).toBe(0);
    expect(r.requests).toBeGreaterThan(0);
    expect(r.bytes).toBe(r.requests * 1000);
  });
});

describe('a Link walk measured by wrk', () => {
  test('wrk requests the pages of one walk in turn and counts walks as pages ÷ pages per walk', async () => {
    const client = new Client((req) => fetch(req), server.url);
    const pushed = await client.pushImage('walk/me', { reference: 't0' });
    for (let i = 1; i < 7; i++) {
      const res = await client.send('PUT', `/v2/walk/me/manifests/t${i}`, { body: pushed.bytes, headers: { 'content-type': pushed.mediaType } });
      expect(res.status).toBe(201);
    }
    const walk = load(['/v2/walk/me/tags/list?n=2'], { walk: true, drainSec: 5, durationSec: 1, bodySize: 64 });
    expect(await walkPages(walk)).toEqual(['/v2/walk/me/tags/list?n=2', '/v2/walk/me/tags/list?n=2&last=t1', '/v2/walk/me/tags/list?n=2&last=t3', '/v2/walk/me/tags/list?n=2&last=t5']);
    const env = { tools: { wrk: Bun.which('wrk') ?? '/usr/bin/wrk' }, cores: '', bunOnly: false };
    const byWrk = await runLoad(walk, 'wrk', env);
    const byBun = await runLoad(walk, 'bun', env);
    expect(byWrk.generator).toBe('wrk');
    expect(byWrk.errors).toBe(0);
    expect(byWrk.requests).toBeGreaterThan(0);
    // The same server, the same walks: the two generators measure the same order of magnitude.
    expect(disagreement(byWrk.requests / byWrk.seconds, byBun.requests / byBun.seconds)).toBeLessThan(3);
    // A wrong page count would make wrk's walks a multiple of the truth; pages ÷ 4 is what it reports.
    expect(Number.isInteger(byWrk.requests * 4)).toBe(true);
  }, 30_000);
});
