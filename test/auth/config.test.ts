/** Access-control settings of `marina serve`: flags, environment, config file, validation and help. */
import { afterAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isLoopback, serverAuth } from '../../src/cli/auth-config.ts';
import { ENV_NAMES, resolveConfig } from '../../src/cli/config.ts';
import { SERVE_HELP, serveConfig } from '../../src/cli/serve.ts';
import { createLogger } from '../../src/logger.ts';
import { runCli } from '../helpers/server.ts';
import { authTempDir, writeRules, writeUsers } from './support.ts';

const dir = authTempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const quiet = createLogger('silent');

describe('auth settings', () => {
  test('come from flags, with numbers converted', () => {
    const config = serveConfig(['--htpasswd', 'u', '--access', 'a.toml', '--token-key', 'k.pem', '--token-ttl', '600', '--rate-limit', '2.5', '--rate-burst', '10', '--tls-cert', 'c', '--tls-key', 'k'], {});
    expect(config).toMatchObject({ htpasswd: 'u', access: 'a.toml', tokenKey: 'k.pem', tokenTtl: 600, rateLimit: 2.5, rateBurst: 10, tlsCert: 'c', tlsKey: 'k', tokenService: 'marina' });
  });

  test('come from the environment and from a config file', () => {
    const fromEnv = serveConfig([], { [ENV_NAMES.htpasswd]: '/etc/marina/users', [ENV_NAMES.auth]: 'basic', [ENV_NAMES.mirrorRateLimit]: '1' });
    expect(fromEnv).toMatchObject({ htpasswd: '/etc/marina/users', auth: 'basic', mirrorRateLimit: 1 });
    const file = path.join(dir, 'marina.toml');
    fs.writeFileSync(file, 'auth = "token"\nhtpasswd = "/etc/marina/users"\ntokenIssuer = "https://gitlab.example"\ntokenJwks = "https://gitlab.example/oauth/discovery/keys"\n');
    expect(serveConfig(['--config', file], {})).toMatchObject({ auth: 'token', tokenIssuer: 'https://gitlab.example' });
  });

  test('refuse bad values with the field name', () => {
    expect(() => resolveConfig({ auth: 'kerberos' })).toThrow(/auth/);
    expect(() => resolveConfig({ rateLimit: 'fast' })).toThrow(/rateLimit: expected a decimal number/);
    expect(() => resolveConfig({ tokenRealm: 'ftp://x' })).toThrow(/tokenRealm/);
  });

  test('without any of them the registry stays open, and only then', async () => {
    expect((await serverAuth(resolveConfig(), dir, quiet)).authorize).toBeUndefined();
    const users = await writeUsers(dir);
    const basic = await serverAuth(resolveConfig({ auth: 'basic', htpasswd: users, access: writeRules(dir) }), dir, quiet);
    expect(basic.protects).toBe(true);
    expect(basic.tokenEndpoint).toBeUndefined();
    const token = await serverAuth(resolveConfig({ htpasswd: users }), path.join(dir, 'data'), quiet);
    expect(token.summary).toStartWith('token');
    expect(token.tokenEndpoint).toBeDefined();
    const limitedOnly = await serverAuth(resolveConfig({ rateLimit: 5 }), dir, quiet);
    expect(limitedOnly.authorize).toBeDefined();
    expect(limitedOnly.protects).toBe(false);
  });

  test('refuse contradictory settings', async () => {
    await expect(serverAuth(resolveConfig({ auth: 'none', htpasswd: 'x' }), dir, quiet)).rejects.toThrow(/auth is "none"/);
    await expect(serverAuth(resolveConfig({ tokenIssuer: 'https://x' }), dir, quiet)).rejects.toThrow(/go together/);
    await expect(serverAuth(resolveConfig({ auth: 'basic', tokenKey: 'k' }), dir, quiet)).rejects.toThrow(/basic/);
  });

  test('refuse an external issuer named like Marina own tokens, whose subjects would be taken for Marina users', async () => {
    const jwks = path.join(dir, 'issuer-jwks.json');
    fs.writeFileSync(jwks, JSON.stringify({ keys: [] }));
    const users = await writeUsers(dir);
    await expect(serverAuth(resolveConfig({ htpasswd: users, tokenIssuer: 'marina', tokenJwks: jwks }), path.join(dir, 'data'), quiet)).rejects.toThrow(/own tokens/);
    expect((await serverAuth(resolveConfig({ htpasswd: users, tokenIssuer: 'https://ci.example', tokenJwks: jwks }), path.join(dir, 'data'), quiet)).protects).toBe(true);
  });

  test('name loopback addresses, for the start-up warning', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) expect(isLoopback(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'registry.example']) expect(isLoopback(host)).toBe(false);
  });

  test('are all in --help', async () => {
    for (const flag of ['--auth', '--htpasswd', '--access', '--token-key', '--token-service', '--token-realm', '--token-ttl', '--token-issuer', '--token-jwks', '--token-user-claim', '--token-groups-claim', '--tls-cert', '--tls-key', '--rate-limit', '--rate-burst', '--mirror-rate-limit', '--mirror-rate-burst']) {
      expect(SERVE_HELP).toContain(`  ${flag} `);
    }
    const { code, stdout } = await runCli(['serve', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Access control');
  });

  test('a broken rules file stops the start with the file and field named', async () => {
    const bad = writeRules(dir, '[[rules]]\nusers = ["x"]\nrepositories = ["a/*"]\nactions = ["own"]\n', 'bad.toml');
    const { code, stderr } = await runCli(['serve', '--port', '0', '--data', path.join(dir, 'bad-data'), '--access', bad]);
    expect(code).not.toBe(0);
    expect(stderr).toContain('bad.toml');
    expect(stderr).toContain('actions');
  });
});
