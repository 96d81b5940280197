/** Access logs and request ids on a real `marina serve` process. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { Client, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';

let server: ServerProcess;
let quiet: ServerProcess;
const dirs = [tempDir('marina-access-'), tempDir('marina-access-')];

beforeAll(async () => {
  server = await startServer(dirs[0]!, ['--access-log', '--log-format', 'json']);
  quiet = await startServer(dirs[1]!, ['--log-format', 'json']);
});

afterAll(async () => {
  await server?.stop('SIGKILL');
  await quiet?.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** The access lines logged so far, parsed. */
function accessLines(s: ServerProcess): Record<string, any>[] {
  return s
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((e) => e.msg === 'request');
}

async function until<T>(find: () => T | undefined, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error('log line did not appear');
    await Bun.sleep(20);
  }
}

describe('access log', () => {
  test('writes one line per request with method, path, status, bytes, duration, client, route and id', async () => {
    const c = new Client((r) => fetch(r), server.url);
    const digest = await c.pushBlob('logs/app', randomBytes(777));
    const res = await c.get(`/v2/logs/app/blobs/${digest}`, { 'x-request-id': 'trace-42' });
    await res.arrayBuffer();
    expect(res.headers.get('x-request-id')).toBe('trace-42');
    const line = await until(() => accessLines(server).find((e) => e.id === 'trace-42'));
    expect(line).toMatchObject({ level: 'info', method: 'GET', path: `/v2/logs/app/blobs/${digest}`, route: 'blob', status: 200, bytes: 777, received: 0, client: '127.0.0.1' });
    expect(typeof line.ms).toBe('number');
    const push = accessLines(server).find((e) => e.method === 'POST');
    expect(push).toMatchObject({ route: 'uploads', status: 201, received: 777, bytes: 0 });
    expect(push!.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('replaces an over-long or unsafe X-Request-Id with a generated one and cuts long paths', async () => {
    for (const bad of ['x'.repeat(129), 'a b', 'evil"quote', 'new\\line']) {
      const res = await fetch(`${server.url}/v2/`, { headers: { 'x-request-id': bad } });
      await res.arrayBuffer();
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    const res = await fetch(`${server.url}/v2/${'a/'.repeat(1000)}tags/list`, { headers: { 'x-request-id': 'long-path' } });
    await res.arrayBuffer();
    const line = await until(() => accessLines(server).find((e) => e.id === 'long-path'));
    expect(line.path.length).toBeLessThanOrEqual(257);
    expect(line.path.endsWith('…')).toBe(true);
  });

  test('at --log-level debug, writes the same line at level debug even with access logs off', async () => {
    const dir = tempDir('marina-access-');
    dirs.push(dir);
    const debug = await startServer(dir, ['--log-format', 'json', '--log-level', 'debug']);
    try {
      await (await fetch(`${debug.url}/v2/`, { headers: { 'x-request-id': 'dbg-1' } })).arrayBuffer();
      const line = await until(() => accessLines(debug).find((e) => e.id === 'dbg-1'));
      expect(line).toMatchObject({ level: 'debug', method: 'GET', path: '/v2/', status: 200, client: '127.0.0.1' });
    } finally {
      await debug.stop('SIGKILL');
    }
  });

  test('is off by default, while request ids are still echoed', async () => {
    const res = await fetch(`${quiet.url}/v2/`, { headers: { 'x-request-id': 'quiet-1' } });
    await res.arrayBuffer();
    expect(res.headers.get('x-request-id')).toBe('quiet-1');
    await Bun.sleep(100);
    expect(accessLines(quiet)).toEqual([]);
  });
});
