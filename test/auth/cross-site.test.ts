/**
 * Browsers keep Basic credentials once a user logged in to the web page, and send them with a form that another
 * site makes the browser POST to the registry. Such a request (it carries a foreign `Origin`) must change nothing:
 * otherwise a page could mount a private layer into a repository its author may read, with the victim's rights.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { digestOf } from '../../src/oci/digest.ts';
import { expectError, type Client } from '../helpers/client.ts';
import type { ServerProcess } from '../helpers/server.ts';
import { authTempDir, basicOf, clientFor, startWithAuth, storeView, writeRules, writeUsers } from './support.ts';

// The shared rules plus: anonymous callers may pull public/*, admins push there.
let dir: string;
let server: ServerProcess;
let admin: Client;
let secretLayer: string;

beforeAll(async () => {
  dir = authTempDir();
  server = await startWithAuth(dir, ['--htpasswd', await writeUsers(dir), '--access', writeRules(dir)]);
  admin = clientFor(server, basicOf('alice'));
  const pushed = await admin.pushImage('secret/vault', { reference: 'v1' });
  secretLayer = pushed.layers[0]!.digest;
  await admin.pushImage('public/site', { reference: 'v1' });
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A form another site submits in the logged-in admin's browser (simple request: no preflight). */
function formPost(path: string, body: string, origin: string): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    body,
    headers: { authorization: basicOf('alice'), origin, 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' },
  });
}

describe('requests a browser sends for another site', () => {
  test('cannot mount a private layer into a public repository with the logged-in user rights', async () => {
    const before = await storeView(admin);
    await expectError(await formPost(`/v2/public/site/blobs/uploads/?mount=${secretLayer}&from=secret/vault`, 'x=y', 'https://evil.example'), 403, 'DENIED');
    await expectError(await formPost(`/v2/public/site/blobs/uploads/?mount=${secretLayer}&from=secret/vault`, 'x=y', 'null'), 403, 'DENIED');
    expect((await fetch(`${server.url}/v2/public/site/blobs/${secretLayer}`)).status).toBe(404);
    expect(await storeView(admin)).toEqual(before);
  });

  test('cannot upload a blob of its choosing', async () => {
    const body = 'planted=content\r\n';
    const digest = digestOf(new TextEncoder().encode(body));
    await expectError(await formPost(`/v2/public/site/blobs/uploads/?digest=${digest}`, body, 'https://evil.example'), 403, 'DENIED');
    expect((await admin.head(`/v2/public/site/blobs/${digest}`)).status).toBe(404);
  });

  test('from the registry own origin, and from clients that send no Origin, work as before', async () => {
    const body = 'same-site=content\r\n';
    const digest = digestOf(new TextEncoder().encode(body));
    expect((await formPost(`/v2/public/site/blobs/uploads/?digest=${digest}`, body, server.url)).status).toBe(201);
    expect((await admin.send('POST', `/v2/public/site/blobs/uploads/?mount=${secretLayer}&from=secret/vault`)).status).toBe(201);
  });
});
