/** The URL tests `marina serve` runs on every request before routing. */
import { describe, expect, test } from 'bun:test';
import { isPath, isRegistryPath, isTokenPath } from '../../src/cli/url-paths.ts';

describe('request URL tests', () => {
  test('the token endpoint is /token with or without a query, and nothing longer', () => {
    expect(isTokenPath('http://registry.test/token')).toBe(true);
    expect(isTokenPath('http://registry.test/token?service=marina&scope=repository:a:pull')).toBe(true);
    for (const url of ['http://registry.test/tokens', 'http://registry.test/token/x', 'http://registry.test/v2/token', 'http://registry.test/']) {
      expect(isTokenPath(url)).toBe(false);
    }
  });

  test('a path matches exactly, without a query', () => {
    expect(isPath('http://registry.test/admin/warm', '/admin/warm')).toBe(true);
    expect(isPath('http://registry.test/admin/warm?x=1', '/admin/warm')).toBe(false);
    expect(isPath('http://registry.test/admin/warmer', '/admin/warm')).toBe(false);
  });

  test('registry paths are /v2, /v2/… and /v2?…, and any URL with a host under four characters', () => {
    for (const url of ['http://registry.test/v2', 'http://registry.test/v2/', 'http://registry.test/v2/a/tags/list', 'http://registry.test/v2?x', 'http://r:1/ui/']) {
      expect(isRegistryPath(url)).toBe(true);
    }
    for (const url of ['http://registry.test/v20', 'http://registry.test/ui/', 'http://registry.test/', 'http://registry.test/metrics']) {
      expect(isRegistryPath(url)).toBe(false);
    }
  });
});
