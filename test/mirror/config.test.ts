/**
 * Configuring a mirror: the settings of `marina serve` (repeatable --mirror, --mirror-default, --mirror-freshness,
 * --cache-max, upstream credentials from the environment or a Docker config.json, what is refused at startup), and
 * a library mirror on in-memory storage.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mirrorOptions } from '../../src/cli/mirror-config.ts';
import { serveConfig } from '../../src/cli/serve.ts';
import type { ServeConfig } from '../../src/cli/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createRegistry } from '../../src/registry.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import { tempDir } from '../helpers/registry.ts';
import { runCli } from '../helpers/server.ts';
import { serveRegistry, sha256 } from './support/harness.ts';
import { pushImage, randomImage } from './support/images.ts';

const dockerDir = tempDir('marina-docker-config-');

afterAll(() => {
  fs.rmSync(dockerDir, { recursive: true, force: true });
});

function config(argv: string[], env: Record<string, string> = {}): ServeConfig {
  const c = serveConfig(argv, env);
  if (c === 'help') throw new Error('unexpected help');
  return c;
}

describe('marina serve mirror flags', () => {
  test('--mirror is repeatable; --mirror-default, --mirror-freshness and --cache-max reach the mirror options', () => {
    const c = config([
      '--mirror', 'docker.io=https://registry-1.docker.io',
      '--mirror', 'ghcr.io=https://ghcr.io',
      '--mirror-default', 'ghcr.io',
      '--mirror-freshness', '60',
      '--cache-max', '2GiB',
    ]);
    const options = mirrorOptions(c, { DOCKER_CONFIG: dockerDir })!;
    expect(options.defaultUpstream).toBe('ghcr.io');
    expect(options.cacheMaxBytes).toBe(2 * 1024 ** 3);
    expect(options.upstreams.map((u) => [u.name, u.url, u.freshnessSeconds])).toEqual([
      ['docker.io', 'https://registry-1.docker.io', 60],
      ['ghcr.io', 'https://ghcr.io', 60],
    ]);
    expect(options.upstreams.every((u) => u.credentials === undefined)).toBe(true);
  });

  test('the stale windows come from flags or the environment; stale-while-revalidate defaults to a day, stale-if-error to no limit', () => {
    const defaults = mirrorOptions(config(['--mirror', 'a.test=http://127.0.0.1:1']), {})!;
    expect([defaults.staleWhileRevalidateSeconds, defaults.staleIfErrorSeconds]).toEqual([86_400, undefined]);
    const flagged = mirrorOptions(config(['--mirror', 'a.test=http://127.0.0.1:1', '--mirror-stale-while-revalidate', '0', '--mirror-stale-if-error', '3600']), {})!;
    expect([flagged.staleWhileRevalidateSeconds, flagged.staleIfErrorSeconds]).toEqual([0, 3600]);
    const fromEnv = mirrorOptions(config(['--mirror', 'a.test=http://127.0.0.1:1'], { MARINA_MIRROR_STALE_WHILE_REVALIDATE: '30', MARINA_MIRROR_STALE_IF_ERROR: '60' }), {})!;
    expect([fromEnv.staleWhileRevalidateSeconds, fromEnv.staleIfErrorSeconds]).toEqual([30, 60]);
  });

  test('no --mirror: no mirror', () => {
    expect(mirrorOptions(config([]), {})).toBeUndefined();
  });

  test('MARINA_MIRRORS in the environment, flags win over it', () => {
    const fromEnv = config([], { MARINA_MIRRORS: 'a.test=http://127.0.0.1:1,b.test=http://127.0.0.1:2', MARINA_CACHE_MAX: '500MB' });
    expect(fromEnv.mirrors.map((m) => m.name)).toEqual(['a.test', 'b.test']);
    expect(fromEnv.cacheMax).toBe(500_000_000);
    const flagged = config(['--mirror', 'c.test=http://127.0.0.1:3'], { MARINA_MIRRORS: 'a.test=http://127.0.0.1:1' });
    expect(flagged.mirrors.map((m) => m.name)).toEqual(['c.test']);
  });

  test('credentials: MARINA_MIRROR_<NAME>_USERNAME/_PASSWORD, else a Docker config.json', () => {
    fs.writeFileSync(
      path.join(dockerDir, 'config.json'),
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: btoa('hubuser:hubpass') },
          'ghcr.io': { username: 'gh', password: 'ghtoken' },
        },
      }),
    );
    const c = config(['--mirror', 'docker.io=https://registry-1.docker.io', '--mirror', 'ghcr.io=https://ghcr.io', '--mirror', 'quay.io=https://quay.io']);
    const options = mirrorOptions(c, { DOCKER_CONFIG: dockerDir, MARINA_MIRROR_GHCR_IO_USERNAME: 'envuser', MARINA_MIRROR_GHCR_IO_PASSWORD: 'envpass' })!;
    const byName = Object.fromEntries(options.upstreams.map((u) => [u.name, u.credentials]));
    expect(byName['docker.io']).toEqual({ username: 'hubuser', password: 'hubpass' });
    expect(byName['ghcr.io']).toEqual({ username: 'envuser', password: 'envpass' });
    expect(byName['quay.io']).toBeUndefined();
  });

  test('bad mirror settings fail at startup with the reason', async () => {
    expect(() => config(['--mirror', 'no-url'])).toThrow(/name=url/);
    expect(() => config(['--mirror', 'Bad_Name=http://127.0.0.1:1'])).toThrow(/mirrors/);
    expect(() => config(['--mirror', 'a.test=ftp://x'])).toThrow(/mirrors/);
    expect(() => config(['--mirror', 'a.test=http://127.0.0.1:1', '--cache-max', 'lots'])).toThrow(/invalid size/);
    const undefinedDefault = () =>
      createRegistry({
        logger: createLogger('silent'),
        storage: memoryStorage(),
        mirror: { ...mirrorOptions(config(['--mirror', 'a.test=http://127.0.0.1:1', '--mirror-default', 'b.test']), {})!, spoolDir: dockerDir },
      });
    expect(undefinedDefault).toThrow(/default upstream "b.test" is not configured/);
    const cli = await runCli(['serve', '--port', '0', '--data', path.join(dockerDir, 'data'), '--mirror', 'a.test=http://127.0.0.1:1', '--mirror-default', 'nope']);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('default upstream "nope" is not configured');
  });

});

describe('library use', () => {
  test('a mirror on in-memory storage fills from upstream and serves from memory', async () => {
    const upstream = serveRegistry();
    const image = randomImage([300_000], 'memory');
    await pushImage(upstream.url, 'team/app', 'v1', image);
    // An explicit spool: the default one (a fresh temp dir) is not removed by close().
    const spoolDir = tempDir('marina-test-spool-');
    const registry = createRegistry({ logger: createLogger('silent'), storage: memoryStorage(), mirror: { upstreams: [{ name: 'a.test', url: upstream.url }], spoolDir } });
    try {
      const manifest = await registry.fetch(new Request('http://r/v2/a.test/team/app/manifests/v1', { headers: { Accept: image.mediaType } }));
      expect(sha256(new Uint8Array(await manifest.arrayBuffer()))).toBe(image.digest);
      for (const outcome of ['marina; fwd=miss', 'marina; hit']) {
        const blob = await registry.fetch(new Request(`http://r/v2/a.test/team/app/blobs/${image.layers[0]!.digest}`));
        expect(blob.headers.get('cache-status')).toBe(outcome);
        expect(sha256(new Uint8Array(await blob.arrayBuffer()))).toBe(image.layers[0]!.digest);
      }
      // The manifest and the one blob pulled (the config was never asked for).
      expect((await registry.mirror!.stats()).cacheBytes).toBe(image.manifest.byteLength + image.layers[0]!.bytes.byteLength);
      const down = await registry.fetch(new Request('http://r/v2/a.test/team/other/manifests/v1'));
      expect(down.status).toBe(404);
    } finally {
      await registry.close();
      await upstream.close();
      fs.rmSync(spoolDir, { recursive: true, force: true });
    }
  });
});
