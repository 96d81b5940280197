import { afterAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENV_NAMES, readConfigFile, readEnv, resolveConfig, SERVE_DEFAULTS } from '../../src/cli/config.ts';
import { mirrorOptions } from '../../src/cli/mirror-config.ts';
import { serveConfig } from '../../src/cli/serve.ts';
import { tempDir } from '../helpers/registry.ts';

const dir = tempDir('marina-config-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('resolveConfig', () => {
  test('returns the defaults when nothing is set', () => {
    expect(resolveConfig()).toEqual(SERVE_DEFAULTS);
    expect(SERVE_DEFAULTS).toMatchObject({ host: '127.0.0.1', port: 5000, logLevel: 'info', deleteEnabled: true, readOnly: false, sync: true });
  });

  test('lets later layers win and ignores undefined values', () => {
    const config = resolveConfig({ port: 1, host: 'a' }, { port: 2, host: undefined }, { port: 3 });
    expect(config.port).toBe(3);
    expect(config.host).toBe('a');
  });

  test('converts strings from the environment and flags to numbers and booleans', () => {
    const config = resolveConfig({ port: '8080', deleteEnabled: 'false', readOnly: 'true', sync: '0', maxManifestSize: '2048' });
    expect(config).toMatchObject({ port: 8080, deleteEnabled: false, readOnly: true, sync: false, maxManifestSize: 2048 });
  });

  test('allows port 0 (pick a free port)', () => {
    expect(resolveConfig({ port: '0' }).port).toBe(0);
  });

  test.each([
    ['port', { port: 'http' }],
    ['port', { port: 70000 }],
    ['port', { port: -1 }],
    ['port', { port: '' }],
    ['host', { host: '' }],
    ['data', { data: '' }],
    ['logLevel', { logLevel: 'loud' }],
    ['logFormat', { logFormat: 'xml' }],
    ['deleteEnabled', { deleteEnabled: 'maybe' }],
    ['readOnly', { readOnly: 'yes please' }],
    ['maxManifestSize', { maxManifestSize: 100 }],
    ['prot', { prot: 5000 }],
  ])('names the field %s when its value is refused', (field, layer) => {
    const message = failure(() => resolveConfig(layer));
    expect(message).toContain('invalid configuration');
    expect(message).toContain(`${field}:`);
  });

  test('lists every problem at once', () => {
    const message = failure(() => resolveConfig({ port: 'x', logLevel: 'y' }));
    expect(message).toContain('port:');
    expect(message).toContain('logLevel:');
  });

  // Strings from flags and the environment must be plain decimal integers: no truncation, no hex, no exponents.
  test('refuses a port that is not a plain decimal integer instead of truncating it', () => {
    for (const port of ['1e3', '8080.5', '0x10', 8080.5]) expect(failure(() => resolveConfig({ port }))).toContain('port:');
  });
});

describe('readEnv', () => {
  test('reads MARINA_* variables into their settings and skips empty and foreign ones', () => {
    const simple = ['port', 'data', 'logLevel', 'logFormat', 'deleteEnabled', 'readOnly', 'referrersEnabled', 'maxManifestSize', 'sync'] as const;
    const env: Record<string, string> = { OTHER: 'x', MARINA_HOST: '' };
    for (const key of simple) env[ENV_NAMES[key]] = `value-of-${key}`;
    const read = readEnv(env);
    expect(read.host).toBeUndefined();
    expect(read.OTHER).toBeUndefined();
    expect(read.port).toBe('value-of-port');
    expect(Object.keys(read).sort()).toEqual([...simple].sort());
  });

  test('names each core setting with a MARINA_ variable', () => {
    expect(ENV_NAMES).toMatchObject({
      host: 'MARINA_HOST', port: 'MARINA_PORT', data: 'MARINA_DATA', logLevel: 'MARINA_LOG_LEVEL', logFormat: 'MARINA_LOG_FORMAT',
      deleteEnabled: 'MARINA_DELETE', readOnly: 'MARINA_READ_ONLY', referrersEnabled: 'MARINA_REFERRERS',
      maxManifestSize: 'MARINA_MAX_MANIFEST_SIZE', sync: 'MARINA_SYNC',
    });
  });
});

describe('readConfigFile', () => {
  test('reads JSON settings', () => {
    expect(readConfigFile(write('a.json', '{"port": 6000, "logLevel": "warn"}'))).toEqual({ port: 6000, logLevel: 'warn' });
  });

  test('reads TOML settings', () => {
    expect(readConfigFile(write('a.toml', 'port = 6001\nreadOnly = true\n'))).toEqual({ port: 6001, readOnly: true });
  });

  test('refuses a file whose top level is not an object, naming the file', () => {
    const file = write('list.json', '[1, 2]');
    expect(failure(() => readConfigFile(file))).toContain(file);
  });

  test('fails on malformed JSON', () => {
    expect(failure(() => readConfigFile(write('bad.json', '{port:')))).toBeTruthy();
  });
});

describe('serveConfig precedence', () => {
  test('flags beat the environment, which beats the config file, which beats the defaults', () => {
    const file = write('p.json', JSON.stringify({ port: 1001, host: '10.0.0.1', data: '/from/file', logLevel: 'error' }));
    const env = { MARINA_CONFIG: file, MARINA_PORT: '1002', MARINA_HOST: '10.0.0.2' };
    const config = serveConfig(['--port', '1003'], env);
    expect(config).toMatchObject({ port: 1003, host: '10.0.0.2', data: '/from/file', logLevel: 'error', logFormat: 'text' });
  });

  test('--config wins over MARINA_CONFIG', () => {
    const a = write('a2.json', '{"port": 2001}');
    const b = write('b2.json', '{"port": 2002}');
    expect(serveConfig(['--config', b], { MARINA_CONFIG: a })).toMatchObject({ port: 2002 });
  });

  test('maps the switch flags onto settings', () => {
    const config = serveConfig(['--no-delete', '--read-only', '--no-referrers', '--no-sync', '--max-manifest-size', '4096'], {});
    expect(config).toMatchObject({ deleteEnabled: false, readOnly: true, referrersEnabled: false, sync: false, maxManifestSize: 4096 });
  });

  test('leaves a switch to the environment when its flag is absent', () => {
    expect(serveConfig([], { MARINA_DELETE: 'false', MARINA_READ_ONLY: 'true' })).toMatchObject({ deleteEnabled: false, readOnly: true });
  });

  test('answers help for --help and -h', () => {
    expect(serveConfig(['--help'], {})).toBe('help');
    expect(serveConfig(['-h', '--port', 'not-checked'], {})).toBe('help');
  });

  test('refuses unknown flags', () => {
    expect(failure(() => serveConfig(['--prot', '1'], {}))).toContain('--prot');
  });

  test('refuses a bad value with the field name', () => {
    expect(failure(() => serveConfig(['--log-level', 'chatty'], {}))).toContain('logLevel');
  });
});

describe('limits settings', () => {
  test('maps every limit flag onto its setting, sizes with units', () => {
    const config = serveConfig(
      ['--idle-timeout', '30', '--body-idle-timeout', '20', '--min-body-rate', '0', '--upload-idle-timeout', '3600',
        '--max-upload-size', '10GiB', '--max-upload-sessions', '100', '--max-upload-sessions-per-repository', '10'],
      {},
    );
    expect(config).toMatchObject({
      idleTimeout: 30, bodyIdleTimeout: 20, minBodyRate: 0, uploadIdleTimeout: 3600,
      maxUploadSize: 10 * 1024 ** 3, maxUploadSessions: 100, maxUploadSessionsPerRepository: 10,
    });
  });

  test('reads limits from MARINA_* variables and config files', () => {
    const file = write('limits.json', JSON.stringify({ maxUploadSize: '512MiB', maxUploadSessions: 7 }));
    expect(serveConfig(['--config', file], { MARINA_MAX_UPLOAD_SESSIONS_PER_REPOSITORY: '3', MARINA_IDLE_TIMEOUT: '90' })).toMatchObject({
      maxUploadSize: 512 * 1024 ** 2, maxUploadSessions: 7, maxUploadSessionsPerRepository: 3, idleTimeout: 90,
    });
  });

  test('has defaults for every limit', () => {
    expect(SERVE_DEFAULTS).toMatchObject({
      idleTimeout: 60, bodyIdleTimeout: 60, minBodyRate: 1024, uploadIdleTimeout: 86400,
      maxUploadSize: 32 * 1024 ** 3, maxUploadSessions: 4096, maxUploadSessionsPerRepository: 512,
    });
  });

  test('refuses an idle timeout Bun would apply to moving transfers (under 5 s) or cannot hold (over 255 s)', () => {
    expect(failure(() => serveConfig(['--idle-timeout', '4'], {}))).toContain('idleTimeout');
    expect(failure(() => serveConfig(['--idle-timeout', '0'], {}))).toContain('idleTimeout');
    expect(failure(() => serveConfig(['--idle-timeout', '256'], {}))).toContain('idleTimeout');
    expect(failure(() => serveConfig(['--max-upload-sessions', '0'], {}))).toContain('maxUploadSessions');
  });
});

describe('cache watermarks', () => {
  test('default to eviction from 95% down to 80% of cacheMax, and come from a file, the environment or flags', () => {
    expect(SERVE_DEFAULTS).toMatchObject({ cacheHighWatermark: 0.95, cacheLowWatermark: 0.8 });
    const file = write('marks.toml', 'cacheHighWatermark = 0.9\ncacheLowWatermark = 0.5\n');
    expect(serveConfig(['--config', file], {})).toMatchObject({ cacheHighWatermark: 0.9, cacheLowWatermark: 0.5 });
    expect(serveConfig([], { MARINA_CACHE_HIGH_WATERMARK: '0.75', MARINA_CACHE_LOW_WATERMARK: '0.25' })).toMatchObject({ cacheHighWatermark: 0.75, cacheLowWatermark: 0.25 });
    const flags = serveConfig(['--cache-low-watermark', '0.6', '--mirror', 'up=http://127.0.0.1:1', '--cache-max', '1GiB'], {});
    expect(flags).toMatchObject({ cacheHighWatermark: 0.95, cacheLowWatermark: 0.6 });
    expect(mirrorOptions(flags as Exclude<typeof flags, 'help'>, { DOCKER_CONFIG: dir })).toMatchObject({ highWatermark: 0.95, lowWatermark: 0.6 });
  });

  test('refuses fractions outside (0, 1], words, and a low watermark not below the high one', () => {
    expect(failure(() => serveConfig(['--cache-high-watermark', '1.5'], {}))).toContain('cacheHighWatermark');
    expect(failure(() => serveConfig(['--cache-low-watermark', '0'], {}))).toContain('cacheLowWatermark');
    expect(failure(() => serveConfig(['--cache-low-watermark', 'half'], {}))).toContain('cacheLowWatermark: expected a decimal number');
    expect(failure(() => serveConfig(['--cache-low-watermark', '0.95'], {}))).toContain('must be below cacheHighWatermark');
  });
});

describe('workers setting', () => {
  test('takes a count or auto from flags, the environment and config files, and refuses anything else', () => {
    expect((serveConfig([], {}) as { workers: unknown }).workers).toBe(1);
    expect((serveConfig(['--workers', '3'], {}) as { workers: unknown }).workers).toBe(3);
    expect((serveConfig([], { MARINA_WORKERS: 'auto' }) as { workers: unknown }).workers).toBe('auto');
    expect(resolveConfig({ workers: 2 }).workers).toBe(2);
    expect(() => serveConfig(['--workers', '0'], {})).toThrow(/workers/);
    expect(() => serveConfig(['--workers', 'many'], {})).toThrow(/workers/);
  });

  test('a spawned worker takes the port its primary bound, given last on its command line', () => {
    expect((serveConfig(['--port', '0', '--workers', '2', '--port', '41234'], {}) as { port: number }).port).toBe(41234);
  });
});

describe('locks setting', () => {
  test('is process by default and host from a flag, the environment or a config file; anything else is refused', () => {
    expect((serveConfig([], {}) as { locks: unknown }).locks).toBe('process');
    expect((serveConfig(['--locks', 'host'], {}) as { locks: unknown }).locks).toBe('host');
    expect((serveConfig([], { MARINA_LOCKS: 'host' }) as { locks: unknown }).locks).toBe('host');
    expect(resolveConfig({ locks: 'host' }).locks).toBe('host');
    expect(() => serveConfig(['--locks', 'cluster'], {})).toThrow(/locks/);
  });
});

describe('PostgreSQL index settings', () => {
  test('come from a file, the environment or flags, flags first; the default keeps LMDB', () => {
    expect(SERVE_DEFAULTS.index).toBeUndefined();
    const file = write('index.toml', 'index = "postgres://marina@db:5432/file"\nindexPoolSize = 4\n');
    expect(serveConfig(['--config', file], {})).toMatchObject({ index: 'postgres://marina@db:5432/file', indexPoolSize: 4 });
    expect(serveConfig(['--config', file], { MARINA_INDEX: 'postgresql://marina@db/env', MARINA_INDEX_POOL_SIZE: '20' })).toMatchObject({
      index: 'postgresql://marina@db/env',
      indexPoolSize: 20,
    });
    expect(serveConfig(['--index', 'postgres://marina@db/flag', '--index-pool-size', '2'], { MARINA_INDEX: 'postgres://marina@db/env' })).toMatchObject({
      index: 'postgres://marina@db/flag',
      indexPoolSize: 2,
    });
  });

  test('refuse an index that is not a postgres:// URL and a pool of no connections', () => {
    expect(failure(() => serveConfig(['--index', 'mysql://db/marina'], {}))).toContain('index');
    expect(failure(() => serveConfig(['--index', 'postgres://db/marina', '--index-pool-size', '0'], {}))).toContain('indexPoolSize');
  });
});
