/**
 * Live reload of a real `marina serve` process: SIGHUP with a good config and with a broken one while a chunked
 * upload is in flight (its PATCH body still streaming), and a config-file watch.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestOf } from '../../src/oci/digest.ts';
import { Client, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';

const dirs: string[] = [];
const servers: ServerProcess[] = [];

afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function serveWithConfig(settings: Record<string, unknown>, args: string[] = []): Promise<{ server: ServerProcess; file: string; c: Client }> {
  const dir = tempDir('marina-reload-');
  dirs.push(dir);
  const file = path.join(dir, 'marina.json');
  fs.writeFileSync(file, JSON.stringify(settings));
  const server = await startServer(path.join(dir, 'data'), ['--config', file, '--log-format', 'json', ...args]);
  servers.push(server);
  return { server, file, c: new Client((r) => fetch(r), server.url) };
}

/** Log entries (JSON lines) with this message, waiting (bounded) until at least `count` exist. */
async function logged(server: ServerProcess, msg: string, count = 1, ms = 5000): Promise<Record<string, any>[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = server
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((e) => e.msg === msg);
    if (found.length >= count) return found;
    if (Date.now() > deadline) throw new Error(`no "${msg}" log line (x${count}) within ${ms} ms:\n${server.stderr()}`);
    await Bun.sleep(20);
  }
}

describe('SIGHUP reload', () => {
  test('applies a good config and refuses a broken one, while a chunked upload streams on and completes', async () => {
    const { server, file, c } = await serveWithConfig({ logLevel: 'info', accessLog: false, deleteEnabled: true });
    const data = randomBytes(3 * 64 * 1024);
    const part = (i: number) => data.subarray(i * 64 * 1024, (i + 1) * 64 * 1024);
    const location = await c.startUpload('reload/app');

    // First PATCH: its body is half sent when the signal arrives, and finished after the reload.
    let feed!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (controller) => void (feed = controller) });
    const first = fetch(location, { method: 'PATCH', body, headers: { 'content-type': 'application/octet-stream' } });
    feed.enqueue(part(0).subarray(0, 30_000));
    await Bun.sleep(100);
    fs.writeFileSync(file, JSON.stringify({ logLevel: 'debug', accessLog: true, deleteEnabled: false, metricsAddr: '127.0.0.1:1' }));
    server.proc.kill('SIGHUP');
    const [reloaded] = await logged(server, 'configuration reloaded; some changes need a restart');
    expect(reloaded!.changed.sort()).toEqual(['accessLog', 'deleteEnabled', 'logLevel']);
    expect(reloaded!.restartNeeded).toEqual(['metricsAddr']);
    feed.enqueue(part(0).subarray(30_000));
    feed.close();
    const patched = await first;
    expect(patched.status).toBe(202);
    expect(patched.headers.get('range')).toBe(`0-${64 * 1024 - 1}`);

    // The new settings are in force: deletes refused, access lines written, same port still serving.
    const digest = await c.pushBlob('reload/other', randomBytes(100));
    expect((await c.delete(`/v2/reload/other/blobs/${digest}`)).status).toBe(405);
    await logged(server, 'request');

    // A broken config: refused with the field named, nothing changes.
    fs.writeFileSync(file, JSON.stringify({ logLevel: 'loud', deleteEnabled: true }));
    server.proc.kill('SIGHUP');
    const [refused] = await logged(server, 'configuration reload refused; the running configuration stays');
    expect(refused!.error).toContain('logLevel');
    fs.writeFileSync(file, '{ not json');
    server.proc.kill('SIGHUP');
    await logged(server, 'configuration reload refused; the running configuration stays', 2);
    expect((await c.delete(`/v2/reload/other/blobs/${digest}`)).status).toBe(405);

    // The upload carries on across both reloads and commits with the right digest.
    const second = await c.send('PATCH', c.url(patched.headers.get('location')!), { body: part(1), headers: { 'content-range': `${64 * 1024}-${2 * 64 * 1024 - 1}` } });
    expect(second.status).toBe(202);
    const loc = c.url(second.headers.get('location')!);
    const done = await c.send('PUT', `${loc}${loc.includes('?') ? '&' : '?'}digest=${digestOf(data)}`, { body: part(2) });
    expect(done.status).toBe(201);
    const got = await c.get(`/v2/reload/app/blobs/${digestOf(data)}`);
    expect(digestOf(new Uint8Array(await got.arrayBuffer()))).toBe(digestOf(data));
    expect(server.proc.exitCode).toBeNull();
  }, 30_000);

  test('reloads on a config file change when watching, keeping flags above the file', async () => {
    const { server, file, c } = await serveWithConfig({ deleteEnabled: true, maxManifestSize: 4096 }, ['--watch-config', '--no-referrers']);
    fs.writeFileSync(file, JSON.stringify({ deleteEnabled: false, maxManifestSize: 4096, referrersEnabled: true }));
    const [line] = await logged(server, 'configuration reloaded');
    expect(line!.trigger).toBe('config file changed');
    expect(line!.changed).toEqual(['deleteEnabled']);
    const digest = await c.pushBlob('watch/app', randomBytes(10));
    expect((await c.delete(`/v2/watch/app/blobs/${digest}`)).status).toBe(405);
    // --no-referrers still wins over the file.
    expect((await c.get(`/v2/watch/app/referrers/${digest}`)).status).toBe(404);
  }, 30_000);
});
