/** Lifecycle settings in the server config: durations, sizes, globs, environment variables. */
import { describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDuration, readEnv, resolveConfig } from '../../src/cli/config.ts';
import { lifecycleOptions, scheduleMs } from '../../src/cli/lifecycle-config.ts';

describe('lifecycle config', () => {
  test('retention rules and quotas convert to milliseconds and bytes', () => {
    const config = resolveConfig({
      retention: [{ repositories: 'ci/**', keepNewest: 10, keepTags: ['v*'], deleteTagsOlderThan: '30d', deleteUntaggedOlderThan: '12h' }],
      quotas: [{ repositories: 'team-a/*', maxSize: '10GiB' }, { repositories: '**', maxSize: 1000 }],
      retentionSchedule: '1h',
    });
    expect(lifecycleOptions(config)).toEqual({
      retention: [{ repositories: 'ci/**', keepNewest: 10, keepTags: ['v*'], deleteTagsOlderThanMs: 30 * 86_400_000, deleteUntaggedOlderThanMs: 12 * 3_600_000 }],
      quotas: [{ repositories: 'team-a/*', maxBytes: 10 * 1024 ** 3 }, { repositories: '**', maxBytes: 1000 }],
    });
    expect(scheduleMs(config.retentionSchedule)).toBe(3_600_000);
    expect(scheduleMs('off')).toBeUndefined();
  });

  test('durations accept units and refuse anything else', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(() => parseDuration('1.5h')).toThrow('invalid duration');
    expect(() => resolveConfig({ retention: [{ repositories: 'x', deleteTagsOlderThan: '3 days' }] })).toThrow('deleteTagsOlderThan');
    expect(() => resolveConfig({ retention: [{ repositories: 'x', keepLast: 3 }] })).toThrow('retention/0');
  });

  test('rules come from the environment as JSON and a bad one names the variable', () => {
    const env = readEnv({ MARINA_RETENTION: '[{"repositories":"ci/**","keepNewest":2}]', MARINA_WARM: 'docker.io/library/alpine:3.20, docker.io/library/busybox:1' });
    expect(env.retention).toEqual([{ repositories: 'ci/**', keepNewest: 2 }]);
    expect(env.warm).toEqual(['docker.io/library/alpine:3.20', 'docker.io/library/busybox:1']);
    expect(() => readEnv({ MARINA_QUOTAS: 'team-a=1GiB' })).toThrow('MARINA_QUOTAS: expected JSON');
  });

  test('an over-long glob fails at startup with where it is', () => {
    expect(() => resolveConfig({ quotas: [{ repositories: 'a'.repeat(600), maxSize: 1 }] })).toThrow('quotas/0/repositories');
    expect(() => resolveConfig({ retention: [{ repositories: 'ci/*', keepTags: ['x'.repeat(513)] }] })).toThrow('retention/0/keepTags/0');
  });
});

describe('the README', () => {
  test('its complete lifecycle configuration is valid and means what the text says', () => {
    const readme = fs.readFileSync(path.join(import.meta.dir, '../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Lifecycle'));
    const toml = /```toml\n([\s\S]*?)```/.exec(section)![1]!;
    const config = resolveConfig(Bun.TOML.parse(toml) as Record<string, unknown>);
    const { retention, quotas } = lifecycleOptions(config);
    expect(retention[0]).toEqual({ repositories: 'ci/**', keepNewest: 20, keepTags: ['v*', 'main', 'latest'], deleteTagsOlderThanMs: 14 * 86_400_000, deleteUntaggedOlderThanMs: 2 * 86_400_000 });
    expect(quotas[0]).toEqual({ repositories: 'team-a/**', maxBytes: 50 * 1024 ** 3 });
    expect(scheduleMs(config.retentionSchedule)).toBe(3_600_000);
    expect(config.warmPlatforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(config.mirrors[0]!.name).toBe('docker.io');
  });
});
