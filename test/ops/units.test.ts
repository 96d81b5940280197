/** Small pieces of the operations layer, in process: request ids, Cache-Status parsing, GC accounting. */
import { describe, expect, test } from 'bun:test';
import { createLogger } from '../../src/logger.ts';
import { cacheOutcome } from '../../src/ops/cache-status.ts';
import { createOps } from '../../src/ops/ops.ts';
import { requestIdOf } from '../../src/ops/request-id.ts';
import { compileLooseGlob } from '../../src/oci/repository-glob.ts';

const globMatch = (pattern: string, name: string) => compileLooseGlob(pattern).matches(name);
import { resolveConfig } from '../../src/cli/config.ts';
import { randomBytes } from '../helpers/client.ts';
import { openRegistry } from '../helpers/registry.ts';
import { parseExposition } from './scrape.ts';

describe('request ids', () => {
  test('keeps a short id of safe characters and replaces anything else with a UUID', () => {
    const withId = (id: string) => requestIdOf(new Request('http://r/v2/', { headers: { 'x-request-id': id } }));
    expect(withId('abc-DEF_1.2:3')).toBe('abc-DEF_1.2:3');
    expect(withId('x'.repeat(128))).toBe('x'.repeat(128));
    for (const bad of ['x'.repeat(129), 'a b', '<script>', 'a\tb']) expect(withId(bad)).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdOf(new Request('http://r/v2/'))).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('Cache-Status outcomes', () => {
  test('reads each outcome the mirror writes', () => {
    expect(cacheOutcome('marina; hit')).toBe('hit');
    expect(cacheOutcome('marina; hit; detail=revalidated')).toBe('revalidated');
    expect(cacheOutcome('marina; hit; detail=stale')).toBe('stale');
    expect(cacheOutcome('marina; fwd=miss')).toBe('miss');
    expect(cacheOutcome('marina; fwd=miss; collapsed; detail=joined')).toBe('joined');
    expect(cacheOutcome('other-cache; fwd=uri-miss')).toBe('other');
  });
});

describe('GC accounting', () => {
  test('counts runs, deleted blobs and freed bytes of collections run through the registry', async () => {
    const t = openRegistry();
    try {
      const ops = createOps({ accessLog: false, metrics: true, storageCensusSeconds: 0, readyzUpstreams: false, mirrors: [] }, createLogger('silent'), t.registry.storage);
      ops.attach(t.registry);
      await t.client.pushBlob('gc/app', randomBytes(4096));
      await t.client.pushBlob('gc/app', randomBytes(1000));
      await t.registry.collectGarbage({ graceMs: 0, dryRun: true });
      const report = await t.registry.collectGarbage({ graceMs: 0 });
      expect(report.deletedBlobs).toBe(2);
      const m = parseExposition(await ops.metrics!.render());
      expect(m.get('marina_gc_runs_total')).toBe(1);
      expect(m.get('marina_gc_deleted_blobs_total')).toBe(2);
      expect(m.get('marina_gc_freed_bytes_total')).toBe(5096);
      expect(m.get('marina_gc_last_run_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
      expect(m.get('marina_storage_blobs')).toBe(0);
    } finally {
      await t.close();
    }
  });
});

describe('loose repository globs (notification filters, mirror freshness)', () => {
  test('match any run of characters at each star, slashes included, and nothing else', () => {
    expect(globMatch('prod/*', 'prod/api')).toBe(true);
    expect(globMatch('prod/*', 'prod/team/api')).toBe(true);
    expect(globMatch('prod/*', 'production/api')).toBe(false);
    expect(globMatch('*/cache', 'ci/cache')).toBe(true);
    expect(globMatch('a*b*c', 'axxbyyc')).toBe(true);
    expect(globMatch('a*b*c', 'axxbyy')).toBe(false);
    expect(globMatch('exact', 'exact')).toBe(true);
    expect(globMatch('exact', 'exactly')).toBe(false);
  });

  test('stay fast on a hostile pattern against a long name', () => {
    const t = performance.now();
    expect(globMatch('*a*a*a*a*a*a*a*a*b', 'a'.repeat(255))).toBe(false);
    expect(performance.now() - t).toBeLessThan(50);
  });
});

describe('notifications config', () => {
  test('accepts endpoints with filters and refuses unknown fields and bad values by name', () => {
    const ok = resolveConfig({ notifications: { endpoints: [{ name: 'ci', url: 'http://127.0.0.1:9/x', actions: ['push'], repositories: ['ci/*'] }] } });
    expect(ok.notifications!.endpoints[0]!.name).toBe('ci');
    expect(() => resolveConfig({ notifications: { endpoints: [{ name: 'ci', url: 'ftp://x' }] } })).toThrow(/notifications\/endpoints\/0\/url/);
    expect(() => resolveConfig({ notifications: { endpoints: [{ name: 'ci', url: 'http://x', action: ['push'] }] } })).toThrow(/notifications/);
    expect(() => resolveConfig({ notifications: { endpoints: [{ name: 'ci', url: 'http://x', actions: ['publish'] }] } })).toThrow(/actions/);
  });
});
