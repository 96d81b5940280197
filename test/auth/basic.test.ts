/** `marina serve --auth basic --htpasswd … --access …`: Distribution's htpasswd mode, with access rules. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { digestOf } from '../../src/oci/digest.ts';
import { expectError, randomBytes, type Client } from '../helpers/client.ts';
import type { ServerProcess } from '../helpers/server.ts';
import { authTempDir, basic, basicOf, clientFor, PASSWORDS, startWithAuth, storeView, writeRules, writeUsers } from './support.ts';

let dir: string;
let server: ServerProcess;
let admin: Client;
const manifests: Record<string, string> = {};

beforeAll(async () => {
  dir = authTempDir();
  server = await startWithAuth(dir, ['--auth', 'basic', '--htpasswd', await writeUsers(dir), '--access', writeRules(dir)]);
  admin = clientFor(server, basicOf('alice'));
  for (const repo of ['team-a/app', 'library/base', 'secret/vault', 'public/hello']) {
    manifests[repo] = (await admin.pushImage(repo, { reference: 'v1' })).digest;
  }
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('Basic credentials against htpasswd users', () => {
  test('an anonymous /v2/ probe is challenged with 401 and WWW-Authenticate: Basic', async () => {
    const res = await fetch(`${server.url}/v2/`);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="marina"');
    await expectError(res, 401, 'UNAUTHORIZED');
  });

  test('a known user with the right password reaches /v2/', async () => {
    expect((await clientFor(server, basicOf('carol')).get('/v2/')).status).toBe(200);
  });

  test('a wrong password is refused with 401, logged with user and address but never the password', async () => {
    const before = await storeView(admin);
    const c = clientFor(server, basic('bob', 'not-bobs-password'));
    await expectError(await c.get('/v2/team-a/app/tags/list'), 401, 'UNAUTHORIZED');
    await expectError(await c.send('POST', `/v2/team-a/app/blobs/uploads/?digest=${digestOf(randomBytes(8))}`, { body: randomBytes(8) }), 401, 'UNAUTHORIZED');
    expect(await storeView(admin)).toEqual(before);
    const line = server.stderr().split('\n').find((l) => l.includes('authentication failed') && l.includes('user=bob'));
    expect(line).toContain('address=127.0.0.1');
    expect(server.stderr()).not.toContain('not-bobs-password');
    for (const password of Object.values(PASSWORDS)) expect(server.stderr()).not.toContain(password);
  });

  test('an unknown user is refused with 401 exactly like a wrong password', async () => {
    const res = await clientFor(server, basic('mallory', 'whatever')).get('/v2/library/base/tags/list');
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="marina"');
    await expectError(res, 401, 'UNAUTHORIZED');
    expect(server.stderr()).toContain('user=mallory');
  });

  test('a malformed Authorization header is refused with 401', async () => {
    await expectError(await fetch(`${server.url}/v2/`, { headers: { authorization: 'Basic !!!notbase64' } }), 401, 'UNAUTHORIZED');
  });
});

describe('access rules', () => {
  test('bob pushes and pulls team-a/** but may not push into read-only library/*: 403 DENIED, store unchanged', async () => {
    const bob = clientFor(server, basicOf('bob'));
    await bob.pushImage('team-a/app/sub', { reference: 'v2' });
    expect((await bob.get('/v2/library/base/tags/list')).status).toBe(200);
    const before = await storeView(admin);
    const layer = randomBytes(32);
    const digest = digestOf(layer);
    await expectError(await bob.send('POST', `/v2/library/base/blobs/uploads/?digest=${digest}`, { body: layer }), 403, 'DENIED');
    await expectError(await bob.putManifest('library/base', 'evil', { schemaVersion: 2 }, 'application/vnd.oci.image.manifest.v1+json'), 403, 'DENIED');
    expect(await storeView(admin)).toEqual(before);
    expect((await admin.head(`/v2/library/base/blobs/${digest}`)).status).toBe(404);
  });

  test('a delete without the delete action is 403 DENIED and the manifest stays', async () => {
    const bob = clientFor(server, basicOf('bob'));
    const before = await storeView(admin);
    await expectError(await bob.delete(`/v2/team-a/app/manifests/${manifests['team-a/app']}`), 403, 'DENIED');
    await expectError(await bob.delete('/v2/team-a/app/manifests/v1'), 403, 'DENIED');
    expect(await storeView(admin)).toEqual(before);
    expect(before['team-a/app']!.v1).toBe(manifests['team-a/app']!);
  });

  test('a repository outside every rule is 403 DENIED for a logged-in user and 401 for an anonymous one', async () => {
    await expectError(await clientFor(server, basicOf('carol')).get('/v2/secret/vault/tags/list'), 403, 'DENIED');
    await expectError(await clientFor(server).get('/v2/secret/vault/tags/list'), 401, 'UNAUTHORIZED');
  });

  test('anonymous callers pull public/* without credentials but may not push there', async () => {
    const anonymous = clientFor(server);
    expect((await anonymous.get(`/v2/public/hello/manifests/v1`, { accept: 'application/vnd.oci.image.manifest.v1+json' })).status).toBe(200);
    const before = await storeView(admin);
    await expectError(await anonymous.send('POST', '/v2/public/hello/blobs/uploads/'), 401, 'UNAUTHORIZED');
    expect(await storeView(admin)).toEqual(before);
  });

  test('the catalog lists only what the caller may pull, and pages stay full', async () => {
    const list = async (who: Client, query = '') => ((await (await who.get(`/v2/_catalog${query}`)).json()) as { repositories: string[] }).repositories;
    expect(await list(clientFor(server, basicOf('carol')))).toEqual(['library/base']);
    expect(await list(clientFor(server, basicOf('bob')))).toEqual(['library/base', 'team-a/app', 'team-a/app/sub']);
    const page = await clientFor(server, basicOf('bob')).get('/v2/_catalog?n=2');
    expect(((await page.json()) as { repositories: string[] }).repositories).toEqual(['library/base', 'team-a/app']);
    expect(page.headers.get('link')).toContain('last=team-a%2Fapp');
    expect(await list(clientFor(server, basicOf('bob')), '?n=2&last=team-a%2Fapp')).toEqual(['team-a/app/sub']);
    expect((await list(admin)).length).toBeGreaterThanOrEqual(5);
  });

  test('an anonymous caller who may pull public/* still may not list the catalog', async () => {
    await expectError(await clientFor(server).get('/v2/_catalog'), 401, 'UNAUTHORIZED');
  });

  test('a cross-repository mount from a repository the user may not pull opens a session instead', async () => {
    const bob = clientFor(server, basicOf('bob'));
    const vault = (await (await admin.get(`/v2/secret/vault/manifests/v1`, { accept: 'application/vnd.oci.image.manifest.v1+json' })).json()) as { layers: { digest: string }[] };
    const layer = vault.layers[0]!.digest;
    const res = await bob.send('POST', `/v2/team-a/app/blobs/uploads/?mount=${layer}&from=secret/vault`);
    expect(res.status).toBe(202);
    expect((await bob.head(`/v2/team-a/app/blobs/${layer}`)).status).toBe(404);
    // From a repository bob may pull, the mount happens.
    const base = (await (await admin.get(`/v2/library/base/manifests/v1`, { accept: 'application/vnd.oci.image.manifest.v1+json' })).json()) as { layers: { digest: string }[] };
    const mounted = await bob.send('POST', `/v2/team-a/app/blobs/uploads/?mount=${base.layers[0]!.digest}&from=library/base`);
    expect(mounted.status).toBe(201);
  });
});
