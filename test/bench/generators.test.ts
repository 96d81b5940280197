/**
 * The load generators count only the expected status (a fast 404 is not throughput), and two generators more than
 * 25% apart fail the case instead of reporting it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runBunLoad } from '../../bench/load/bun-load.ts';
import { CROSS_CHECK_TOLERANCE, crossGenerator, disagreement } from '../../bench/load/generators.ts';
import type { HttpLoad, LoadResult } from '../../bench/load/types.ts';
import { runWrk, wrkResult } from '../../bench/load/wrk.ts';
import { crossCheckFailed, summarise } from '../../bench/report/results.ts';
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
    expect(crossGenerator(load(['/x'], { walk: true, drainSec: 5 }), 'bun', env)).toBe('bun-fetch');
    expect(crossGenerator(load(['/x']), 'bun', { ...env, bunOnly: true })).toBe('bun-fetch');
  });
});
