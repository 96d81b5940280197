/** `--tls-cert/--tls-key`: HTTPS with a certificate from a CA the test generates; the token flow runs over it. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestOf } from '../../src/oci/digest.ts';
import { Client, expectError } from '../helpers/client.ts';
import type { ServerProcess } from '../helpers/server.ts';
import { makeCertificates } from '../support/tls.ts';
import { authTempDir, basicOf, startWithAuth, writeUsers } from './support.ts';

let dir: string;
let server: ServerProcess;
let ca: string;

beforeAll(async () => {
  dir = authTempDir();
  const certs = await makeCertificates(path.join(dir, 'tls'));
  ca = fs.readFileSync(certs.caCert, 'utf8');
  server = await startWithAuth(dir, ['--htpasswd', await writeUsers(dir), '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey]);
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const trusting = (input: string, init: RequestInit = {}) => fetch(input, { ...init, tls: { ca } } as RequestInit);

describe('HTTPS', () => {
  test('announces https in the startup line and challenges with an https realm', async () => {
    expect(server.url.startsWith('https://127.0.0.1:')).toBe(true);
    const res = await trusting(`${server.url}/v2/`);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="${server.url}/token",service="marina"`);
    await expectError(res, 401, 'UNAUTHORIZED');
  });

  test('a client trusting the generated CA logs in through the token flow and pushes and pulls', async () => {
    const answer = await trusting(`${server.url}/token?service=marina&scope=repository:tls/app:pull,push`, { headers: { authorization: basicOf('alice') } });
    expect(answer.status).toBe(200);
    const { token } = (await answer.json()) as { token: string };
    const client = new Client((request) => {
      request.headers.set('authorization', `Bearer ${token}`);
      return trusting(request.url, { method: request.method, headers: request.headers, body: request.body });
    }, server.url);
    const pushed = await client.pushImage('tls/app', { reference: 'v1' });
    const pulled = await client.get('/v2/tls/app/manifests/v1', { accept: pushed.mediaType });
    expect(pulled.status).toBe(200);
    expect(digestOf(new Uint8Array(await pulled.arrayBuffer()))).toBe(pushed.digest);
  });

  test('a client that does not trust the CA is refused by TLS verification', async () => {
    await expect(fetch(`${server.url}/v2/`)).rejects.toThrow();
  });

  test('plain HTTP to the TLS port gets no registry answer', async () => {
    const plain = await fetch(server.url.replace('https://', 'http://') + '/v2/').then((r) => r.status, () => 'refused');
    expect(plain).not.toBe(401);
    expect(plain).not.toBe(200);
  });
});
