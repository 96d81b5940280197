/**
 * Marina's token service: the Bearer challenge, `GET /token` with Basic credentials or anonymous, ES256 JWTs whose
 * `access` claim lists exactly the granted actions, and every way a token can be wrong.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportJWK, exportPKCS8, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { digestOf } from '../../src/oci/digest.ts';
import { expectError, randomBytes, type Client } from '../helpers/client.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import { authTempDir, basic, basicOf, clientFor, requestToken, startWithAuth, storeView, tokenFor, writeRules, writeUsers } from './support.ts';

let dir: string;
let server: ServerProcess;
let admin: Client;
let signingKey: CryptoKey;
let otherKey: CryptoKey;

beforeAll(async () => {
  dir = authTempDir();
  ({ privateKey: signingKey } = await generateKeyPair('ES256', { extractable: true }));
  ({ privateKey: otherKey } = await generateKeyPair('ES256', { extractable: true }));
  const keyFile = path.join(dir, 'token-key.pem');
  fs.writeFileSync(keyFile, await exportPKCS8(signingKey), { mode: 0o600 });
  server = await startWithAuth(dir, ['--htpasswd', await writeUsers(dir), '--access', writeRules(dir), '--token-key', keyFile]);
  admin = clientFor(server, basicOf('alice'));
  for (const repo of ['team-a/app', 'library/base', 'secret/vault']) await admin.pushImage(repo, { reference: 'v1' });
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Signs a token like Marina's own, with any claims, key and algorithm. */
function forge(claims: Record<string, unknown>, options: { key?: CryptoKey; kid?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: 'marina', aud: 'marina', sub: 'bob', iat: now, nbf: now - 1, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'ES256', ...(options.kid ? { kid: options.kid } : {}) })
    .sign(options.key ?? signingKey);
}

const bearer = (token: string) => `Bearer ${token}`;
const pushAccess = (name: string) => [{ type: 'repository', name, actions: ['pull', 'push'] }];

/** Tries to push a blob and a manifest with `authorization`; expects the refusal and an unchanged store. */
async function expectPushRefused(authorization: string, repo: string, status: number, code: string): Promise<void> {
  const before = await storeView(admin);
  const client = clientFor(server, authorization);
  const layer = randomBytes(24);
  const digest = digestOf(layer);
  await expectError(await client.send('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, { body: layer }), status, code);
  await expectError(await client.putManifest(repo, 'intruder', { schemaVersion: 2 }, 'application/vnd.oci.image.manifest.v1+json'), status, code);
  expect(await storeView(admin)).toEqual(before);
  expect((await admin.head(`/v2/${repo}/blobs/${digest}`)).status).toBe(404);
}

describe('the challenge and the token endpoint', () => {
  test('an anonymous request is challenged with Bearer realm, service and the scope it needs', async () => {
    const probe = await fetch(`${server.url}/v2/`);
    expect(probe.headers.get('www-authenticate')).toBe(`Bearer realm="${server.url}/token",service="marina"`);
    await expectError(probe, 401, 'UNAUTHORIZED');
    const push = await fetch(`${server.url}/v2/team-a/app/blobs/uploads/`, { method: 'POST' });
    expect(push.headers.get('www-authenticate')).toBe(`Bearer realm="${server.url}/token",service="marina",scope="repository:team-a/app:pull,push"`);
    const catalog = await fetch(`${server.url}/v2/_catalog`);
    expect(catalog.headers.get('www-authenticate')).toContain('scope="registry:catalog:*"');
  });

  test('GET /token with Basic credentials answers token, access_token, expires_in and issued_at; the token works', async () => {
    const answer = await requestToken(server, ['repository:team-a/app:pull,push'], basicOf('bob'));
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual(['access_token', 'expires_in', 'issued_at', 'token']);
    expect(answer.body.access_token).toBe(answer.token);
    expect(answer.body.expires_in).toBe(300);
    expect(Date.parse(answer.body.issued_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(answer.claims).toMatchObject({ iss: 'marina', aud: 'marina', sub: 'bob', access: pushAccess('team-a/app') });
    const header = JSON.parse(Buffer.from(answer.token!.split('.')[0]!, 'base64url').toString());
    expect(header.alg).toBe('ES256');
    expect(typeof header.kid).toBe('string');
    const pushed = await clientFor(server, bearer(answer.token!)).pushImage('team-a/app', { reference: 'v2' });
    expect((await admin.head(`/v2/team-a/app/manifests/${pushed.digest}`)).status).toBe(200);
  });

  test('several scope parameters are granted together', async () => {
    const { claims } = await requestToken(server, ['repository:team-a/app:pull', 'repository:library/base:pull', 'registry:catalog:*'], basicOf('carol'));
    expect(claims.access).toEqual([
      { type: 'repository', name: 'library/base', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });

  test('a scope asking for more than allowed is cut down, not refused', async () => {
    const answer = await requestToken(server, ['repository:library/base:pull,push,delete'], basicOf('bob'));
    expect(answer.status).toBe(200);
    expect(answer.claims.access).toEqual([{ type: 'repository', name: 'library/base', actions: ['pull'] }]);
    await expectPushRefused(bearer(answer.token!), 'library/base', 403, 'DENIED');
  });

  test('POST /token with grant_type=password (the OAuth2 form containerd uses) issues a token too', async () => {
    const form = new URLSearchParams({ grant_type: 'password', username: 'bob', password: 'bob-secret-2', service: 'marina', scope: 'repository:team-a/app:pull', client_id: 'test' });
    const res = await fetch(`${server.url}/token`, { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(200);
    const token = ((await res.json()) as { access_token: string }).access_token;
    expect((await clientFor(server, bearer(token)).get('/v2/team-a/app/tags/list')).status).toBe(200);
  });

  test('a token request for another service is refused with 400', async () => {
    const res = await fetch(`${server.url}/token?service=elsewhere&scope=repository:team-a/app:pull`, { headers: { authorization: basicOf('bob') } });
    await expectError(res, 400, 'UNSUPPORTED');
  });

  test('an anonymous token grants only the anonymous rules (nothing here)', async () => {
    const answer = await requestToken(server, ['repository:team-a/app:pull']);
    expect(answer.status).toBe(200);
    expect(answer.claims.access).toEqual([]);
    expect(answer.claims.sub).toBe('');
    await expectError(await clientFor(server, bearer(answer.token!)).get('/v2/team-a/app/tags/list'), 401, 'UNAUTHORIZED');
  });

  test('wrong password and unknown user at /token: 401 UNAUTHORIZED, no token', async () => {
    const wrong = await requestToken(server, ['repository:team-a/app:pull'], basic('bob', 'guess'));
    expect(wrong.status).toBe(401);
    expect(wrong.body.errors[0].code).toBe('UNAUTHORIZED');
    const unknown = await requestToken(server, ['repository:team-a/app:pull'], basic('mallory', 'guess'));
    expect(unknown.status).toBe(401);
    expect(server.stderr()).toContain('user=mallory');
    expect(server.stderr()).not.toContain('guess');
  });

  test('Basic credentials sent straight to /v2/ work too (htpasswd mode)', async () => {
    const bob = clientFor(server, basicOf('bob'));
    await bob.pushImage('team-a/direct', { reference: 'v1' });
    await expectPushRefused(basicOf('bob'), 'library/base', 403, 'DENIED');
  });
});

describe('tokens that must not work', () => {
  test('a token for another repository is refused with 401 insufficient_scope', async () => {
    const token = await tokenFor(server, ['repository:team-a/app:pull,push'], basicOf('bob'));
    const res = await clientFor(server, bearer(token)).get('/v2/library/base/tags/list');
    expect(res.headers.get('www-authenticate')).toContain('scope="repository:library/base:pull",error="insufficient_scope"');
    await expectError(res, 401, 'UNAUTHORIZED');
    await expectPushRefused(bearer(token), 'team-a/other', 401, 'UNAUTHORIZED');
  });

  test('a token for another action is refused: pull-only cannot push, push cannot delete', async () => {
    const pullOnly = await tokenFor(server, ['repository:team-a/app:pull'], basicOf('bob'));
    await expectPushRefused(bearer(pullOnly), 'team-a/app', 401, 'UNAUTHORIZED');
    const push = await tokenFor(server, ['repository:team-a/app:pull,push,delete'], basicOf('bob'));
    const before = await storeView(admin);
    await expectError(await clientFor(server, bearer(push)).delete('/v2/team-a/app/manifests/v1'), 403, 'DENIED');
    expect(await storeView(admin)).toEqual(before);
  });

  test('an expired token is refused with 401 invalid_token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await forge({ access: pushAccess('team-a/app'), iat: now - 3600, nbf: now - 3600, exp: now - 600 });
    const res = await clientFor(server, bearer(token)).get('/v2/team-a/app/tags/list');
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    await expectError(res, 401, 'UNAUTHORIZED');
    await expectPushRefused(bearer(token), 'team-a/app', 401, 'UNAUTHORIZED');
  });

  test('a token that is not yet valid is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectPushRefused(bearer(await forge({ access: pushAccess('team-a/app'), nbf: now + 3600 })), 'team-a/app', 401, 'UNAUTHORIZED');
  });

  test('a well-formed token from the right key is accepted (the forgery helper itself is sound)', async () => {
    const token = await forge({ access: pushAccess('team-a/app') });
    expect((await clientFor(server, bearer(token)).get('/v2/team-a/app/tags/list')).status).toBe(200);
  });

  test('a token signed by another key is refused', async () => {
    await expectPushRefused(bearer(await forge({ access: pushAccess('team-a/app') }, { key: otherKey })), 'team-a/app', 401, 'UNAUTHORIZED');
  });

  test('an unsigned token (alg none) is refused', async () => {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const token = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ iss: 'marina', aud: 'marina', sub: 'alice', exp: now + 300, access: pushAccess('secret/vault') })}.`;
    await expectPushRefused(bearer(token), 'secret/vault', 401, 'UNAUTHORIZED');
  });

  test('a token with a tampered payload is refused', async () => {
    const token = await tokenFor(server, ['repository:library/base:pull'], basicOf('bob'));
    const [head, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    claims.access = pushAccess('library/base');
    const tampered = `${head}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    await expectPushRefused(bearer(tampered), 'library/base', 401, 'UNAUTHORIZED');
  });

  test('a token from the wrong issuer or for another audience is refused even with the right key', async () => {
    await expectPushRefused(bearer(await forge({ access: pushAccess('team-a/app'), iss: 'someone-else' })), 'team-a/app', 401, 'UNAUTHORIZED');
    await expectPushRefused(bearer(await forge({ access: pushAccess('team-a/app'), aud: 'another-registry' })), 'team-a/app', 401, 'UNAUTHORIZED');
  });

  test('a token naming an unknown kid is refused', async () => {
    await expectPushRefused(bearer(await forge({ access: pushAccess('team-a/app') }, { kid: 'not-our-key' })), 'team-a/app', 401, 'UNAUTHORIZED');
  });

  test('a token without exp, one signed with HS256 using the public key as the secret, or one carrying its own key is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const noExp = await new SignJWT({ iss: 'marina', aud: 'marina', sub: 'bob', iat: now, access: pushAccess('team-a/app') }).setProtectedHeader({ alg: 'ES256' }).sign(signingKey);
    const publicJwk = await exportJWK(signingKey);
    delete publicJwk.d;
    const hmac = await new SignJWT({ iss: 'marina', aud: 'marina', sub: 'alice', iat: now, exp: now + 300, access: pushAccess('secret/vault') })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
    const { privateKey: ownKey, publicKey: ownPublic } = await generateKeyPair('ES256', { extractable: true });
    const embedded = await new SignJWT({ iss: 'marina', aud: 'marina', sub: 'alice', iat: now, exp: now + 300, access: pushAccess('secret/vault') })
      .setProtectedHeader({ alg: 'ES256', jwk: await exportJWK(ownPublic) })
      .sign(ownKey);
    await expectPushRefused(bearer(noExp), 'team-a/app', 401, 'UNAUTHORIZED');
    await expectPushRefused(bearer(hmac), 'secret/vault', 401, 'UNAUTHORIZED');
    await expectPushRefused(bearer(embedded), 'secret/vault', 401, 'UNAUTHORIZED');
  });

  test('rejected tokens are logged with the reason and the address, never the token', async () => {
    const token = await forge({ access: pushAccess('team-a/app') }, { key: otherKey });
    await clientFor(server, bearer(token)).get('/v2/team-a/app/tags/list');
    expect(server.stderr()).toMatch(/authentication failed reason="bad token signature".*address=127\.0\.0\.1/);
    expect(server.stderr()).not.toContain(token.split('.')[2]!);
  });
});

describe('cross-repository mounts with tokens', () => {
  test('mount from a repository the subject may pull, even outside the token scope; never from one it may not', async () => {
    const layerOf = async (repo: string) =>
      ((await (await admin.get(`/v2/${repo}/manifests/v1`, { accept: 'application/vnd.oci.image.manifest.v1+json' })).json()) as { layers: { digest: string }[] }).layers[0]!.digest;
    const token = await tokenFor(server, ['repository:team-a/mounts:pull,push'], basicOf('bob'));
    const bob = clientFor(server, bearer(token));
    const readable = await layerOf('library/base');
    expect((await bob.send('POST', `/v2/team-a/mounts/blobs/uploads/?mount=${readable}&from=library/base`)).status).toBe(201);
    const secret = await layerOf('secret/vault');
    const before = await storeView(admin);
    for (const query of [`mount=${secret}&from=secret/vault`, `mount=${secret}`]) {
      const res = await bob.send('POST', `/v2/team-a/mounts/blobs/uploads/?${query}`);
      expect(res.status).toBe(202); // a plain upload session: nothing of secret/vault reached team-a/mounts
    }
    expect((await bob.head(`/v2/team-a/mounts/blobs/${secret}`)).status).toBe(404);
    expect(await storeView(admin)).toEqual(before);
  });
});

describe('the catalog with tokens', () => {
  test('needs the registry:catalog:* scope, and lists only what the subject may pull', async () => {
    const noCatalog = await tokenFor(server, ['repository:library/base:pull'], basicOf('carol'));
    await expectError(await clientFor(server, bearer(noCatalog)).get('/v2/_catalog'), 401, 'UNAUTHORIZED');
    const carol = await tokenFor(server, ['registry:catalog:*'], basicOf('carol'));
    const listed = await clientFor(server, bearer(carol)).get('/v2/_catalog');
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { repositories: string[] }).repositories).toEqual(['library/base']);
  });
});

describe('an RSA signing key given by flag', () => {
  test('signs RS256 tokens that the server accepts', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const keyFile = path.join(dir, 'rsa-key.pem');
    fs.writeFileSync(keyFile, await exportPKCS8(privateKey), { mode: 0o600 });
    const rsa = await startServer(path.join(dir, 'rsa-data'), ['--htpasswd', path.join(dir, 'users.htpasswd'), '--token-key', keyFile]);
    try {
      const answer = await requestToken(rsa, ['repository:team-a/app:pull,push'], basicOf('bob'));
      expect(JSON.parse(Buffer.from(answer.token!.split('.')[0]!, 'base64url').toString()).alg).toBe('RS256');
      await clientFor(rsa, bearer(answer.token!)).pushImage('team-a/app', { reference: 'rsa' });
    } finally {
      await rsa.stop();
    }
  });
});

describe('the generated signing key', () => {
  test('is created in the data directory with mode 0600 on first start and reused after a restart', async () => {
    const data = path.join(dir, 'generated');
    const users = path.join(dir, 'users.htpasswd');
    const first = await startServer(data, ['--htpasswd', users]);
    let firstToken: string;
    try {
      firstToken = await tokenFor(first, ['repository:team-a/app:pull'], basicOf('bob'));
    } finally {
      await first.stop();
    }
    const keyFile = path.join(data, 'auth/token-signing-key.jwk');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const second = await startServer(data, ['--htpasswd', users]);
    try {
      // A token issued before the restart still verifies (same key, same kid): 404 for the empty store, not 401.
      expect((await clientFor(second, `Bearer ${firstToken}`).get('/v2/team-a/app/tags/list')).status).toBe(404);
      expect(second.stderr()).not.toContain(JSON.parse(fs.readFileSync(keyFile, 'utf8')).d);
    } finally {
      await second.stop();
    }
  });
});
