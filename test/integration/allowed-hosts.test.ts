/**
 * DNS rebinding: a page on another site that points its own name at 127.0.0.1 reaches a registry listening there
 * with its name in `Host`. On loopback only loopback names, IP literals and listed names are answered.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, type ServerProcess } from '../helpers/server.ts';

/** Sends one raw request with exactly this Host header (fetch may rewrite it) and returns the status and body. */
async function withHost(port: number, host: string, method = 'GET', target = '/v2/'): Promise<{ status: number; body: string }> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(`${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const text = Buffer.concat(chunks).toString('latin1');
  return { status: Number(text.slice(9, 12)), body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

describe('host names a registry answers to', () => {
  const servers: ServerProcess[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  const start = async (args: string[] = []) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-hosts-'));
    dirs.push(dir);
    const server = await startServer(dir, args);
    servers.push(server);
    return Number(new URL(server.url).port);
  };

  test('on loopback, a foreign DNS name is refused with 403 DENIED before anything runs; loopback names and IP literals pass', async () => {
    const port = await start();
    const rebound = await withHost(port, `attacker.example:${port}`);
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body).errors[0].code).toBe('DENIED');
    // Nothing is started for the page either: an upload, the catalog, the web page.
    expect((await withHost(port, `attacker.example:${port}`, 'POST', '/v2/x/blobs/uploads/')).status).toBe(403);
    expect((await withHost(port, `attacker.example`, 'GET', '/v2/_catalog')).status).toBe(403);
    expect((await withHost(port, `ATTACKER.example`, 'GET', '/')).status).toBe(403);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `registry.localhost:${port}`, `[::1]:${port}`, '10.1.2.3']) {
      expect({ host, status: (await withHost(port, host)).status }).toEqual({ host, status: 200 });
    }
  });

  test('--allowed-hosts adds names, exact or *.suffix', async () => {
    const port = await start(['--allowed-hosts', 'registry.example, *.corp.example']);
    expect((await withHost(port, `registry.example:${port}`)).status).toBe(200);
    expect((await withHost(port, `ci.corp.example:${port}`)).status).toBe(200);
    expect((await withHost(port, `corp.example.attacker.example`)).status).toBe(403);
    expect((await withHost(port, `other.example`)).status).toBe(403);
  });
});
