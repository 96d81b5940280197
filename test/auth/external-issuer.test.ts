/**
 * Tokens from an existing issuer (`--token-issuer` + `--token-jwks`): a local issuer started by the test signs
 * Distribution-style access tokens and OIDC-style identity tokens (mapped to users by claim) and serves its JWKS on
 * loopback; Marina checks signature, issuer and audience, and applies the access rules to identity tokens.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { expectError, type Client } from '../helpers/client.ts';
import type { ServerProcess } from '../helpers/server.ts';
import { authTempDir, basic, basicOf, clientFor, requestToken, RULES_TOML, startWithAuth, storeView, writeRules, writeUsers } from './support.ts';

const ISSUER = 'https://ci.example.test';
const EXTRA_RULES = `
[[rules]]
groups = ["deployers"]
repositories = ["deploy/**"]
actions = ["pull", "push"]
`;

let dir: string;
let issuerKey: CryptoKey;
let strangerKey: CryptoKey;
let jwks: { keys: JWK[] };
let issuer: ReturnType<typeof Bun.serve>;
let server: ServerProcess;
let admin: Client;
let users: string;
let rules: string;

beforeAll(async () => {
  dir = authTempDir();
  ({ privateKey: issuerKey } = await generateKeyPair('RS256', { extractable: true }));
  ({ privateKey: strangerKey } = await generateKeyPair('RS256', { extractable: true }));
  const publicJwk = await exportJWK(issuerKey);
  for (const k of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) delete publicJwk[k];
  jwks = { keys: [{ ...publicJwk, kid: 'ci-1', alg: 'RS256', use: 'sig' }] };
  issuer = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: (request) => {
      const { pathname } = new URL(request.url);
      if (pathname === '/jwks.json') return Response.json(jwks);
      if (pathname === '/huge.json') return new Response(JSON.stringify({ keys: [], pad: 'x'.repeat(1024 * 1024) }));
      return new Response('not found', { status: 404 });
    },
  });
  users = await writeUsers(dir);
  rules = writeRules(dir, RULES_TOML + EXTRA_RULES);
  server = await startWithAuth(dir, [
    '--htpasswd', users, '--access', rules,
    '--token-issuer', ISSUER, '--token-jwks', `http://127.0.0.1:${issuer.port}/jwks.json`,
    '--token-user-claim', 'user_login', '--token-groups-claim', 'groups',
  ]);
  admin = clientFor(server, basicOf('alice'));
  for (const repo of ['team-a/app', 'library/base']) await admin.pushImage(repo, { reference: 'v1' });
});
afterAll(async () => {
  await server.stop();
  issuer.stop(true);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A token from the local issuer (or an impostor). */
function issue(claims: Record<string, unknown>, options: { key?: CryptoKey; kid?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, aud: 'marina', iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'ci-1' })
    .sign(options.key ?? issuerKey);
}
const bearer = (token: string) => `Bearer ${token}`;

describe('access tokens of an external issuer', () => {
  test('are accepted for exactly what their access claim grants', async () => {
    const token = await issue({ sub: 'harbor-robot', access: [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }] });
    const robot = clientFor(server, bearer(token));
    expect((await robot.get('/v2/team-a/app/tags/list')).status).toBe(200);
    const before = await storeView(admin);
    await expectError(await robot.send('POST', '/v2/team-a/app/blobs/uploads/'), 401, 'UNAUTHORIZED');
    await expectError(await robot.get('/v2/library/base/tags/list'), 401, 'UNAUTHORIZED');
    expect(await storeView(admin)).toEqual(before);
  });

  test('from another issuer, for another audience, or signed by an unknown key are refused', async () => {
    const access = [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }];
    for (const token of [
      await issue({ sub: 'x', access, iss: 'https://other.example.test' }),
      await issue({ sub: 'x', access, aud: 'not-marina' }),
      await issue({ sub: 'x', access }, { key: strangerKey }),
      await issue({ sub: 'x', access }, { key: strangerKey, kid: 'stranger' }),
    ]) {
      const res = await clientFor(server, bearer(token)).get('/v2/team-a/app/tags/list');
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
      await expectError(res, 401, 'UNAUTHORIZED');
    }
  });
});

describe('OIDC identity tokens (CI job tokens) mapped to users by claim', () => {
  test('a job token naming bob in user_login gets bob’s rights: push team-a, never library', async () => {
    const job = await issue({ sub: 'project_path:team-a/app:ref_type:branch:ref:main', user_login: 'bob' });
    const ci = clientFor(server, bearer(job));
    await ci.pushImage('team-a/app', { reference: 'from-ci' });
    const before = await storeView(admin);
    await expectError(await ci.send('POST', '/v2/library/base/blobs/uploads/'), 403, 'DENIED');
    expect(await storeView(admin)).toEqual(before);
  });

  test('groups from the groups claim match group rules', async () => {
    const job = await issue({ sub: 'deploy-job', user_login: 'deploy-bot', groups: ['deployers'] });
    await clientFor(server, bearer(job)).pushImage('deploy/site', { reference: 'v1' });
    const outsider = await issue({ sub: 'x', user_login: 'deploy-bot', groups: ['visitors'] });
    await expectError(await clientFor(server, bearer(outsider)).send('POST', '/v2/deploy/site/blobs/uploads/'), 403, 'DENIED');
  });

  test('a token without the user claim is refused', async () => {
    await expectError(await clientFor(server, bearer(await issue({ sub: 'nobody' }))).get('/v2/team-a/app/tags/list'), 401, 'UNAUTHORIZED');
  });

  test('used as the password at /token (docker login -p "$CI_JOB_JWT"), it yields a Marina token for the mapped user', async () => {
    const job = await issue({ sub: 'job-42', user_login: 'bob' });
    const answer = await requestToken(server, ['repository:team-a/app:pull,push', 'repository:library/base:push'], basic('ci', job));
    expect(answer.status).toBe(200);
    expect(answer.claims.sub).toBe('bob');
    expect(answer.claims.access).toEqual([{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
    const forged = await issue({ sub: 'job-42', user_login: 'alice' }, { key: strangerKey });
    expect((await requestToken(server, ['repository:team-a/app:pull'], basic('ci', forged))).status).toBe(401);
  });
});

describe('an external issuer without access rules', () => {
  test('its identity tokens grant nothing (anyone may get one of a public CI issuer), its access tokens what they say', async () => {
    const file = path.join(dir, 'jwks-no-rules.json');
    fs.writeFileSync(file, JSON.stringify(jwks));
    const open = await startWithAuth(dir, ['--token-issuer', ISSUER, '--token-jwks', file]);
    try {
      const stranger = clientFor(open, bearer(await issue({ sub: 'project_path:someone-else/x:ref_type:branch:ref:main' })));
      await expectError(await stranger.send('POST', '/v2/team-a/app/blobs/uploads/'), 403, 'DENIED');
      await expectError(await stranger.get('/v2/team-a/app/tags/list'), 403, 'DENIED');
      const robot = clientFor(open, bearer(await issue({ sub: 'robot', access: [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }] })));
      await robot.pushImage('team-a/app', { reference: 'v1' });
      expect(open.stderr()).toContain('--token-issuer without --access');
    } finally {
      await open.stop();
    }
  });
});

describe('where the keys come from', () => {
  test('a JWKS file works like the URL', async () => {
    const file = path.join(dir, 'jwks.json');
    fs.writeFileSync(file, JSON.stringify(jwks));
    const fromFile = await startWithAuth(dir, ['--access', rules, '--token-issuer', ISSUER, '--token-jwks', file, '--token-user-claim', 'user_login']);
    try {
      const job = await issue({ sub: 'j', user_login: 'carol' });
      expect((await clientFor(fromFile, bearer(job)).get('/v2/library/base/tags/list')).status).toBe(404); // allowed; empty store
      await expectError(await clientFor(fromFile, bearer(job)).get('/v2/team-a/app/tags/list'), 403, 'DENIED');
      // Without users or a key of its own, Marina runs no token endpoint: the issuer is the only source.
      expect((await fetch(`${fromFile.url}/token?service=marina`)).status).not.toBe(200);
    } finally {
      await fromFile.stop();
    }
  });

  test('a JWKS URL that answers more than the size cap stops the start with a clear error', async () => {
    const attempt = startWithAuth(dir, ['--token-issuer', ISSUER, '--token-jwks', `http://127.0.0.1:${issuer.port}/huge.json`]);
    await expect(attempt).rejects.toThrow(/larger than/);
  });
});
