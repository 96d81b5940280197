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
import { ACCEPT_MANIFESTS, serveRegistry } from '../mirror/support/harness.ts';
import { pushImage, randomImage } from '../mirror/support/images.ts';

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
    expect((await c.send('POST', `/v2/watch/app/blobs/uploads/?digest=${digestOf(randomBytes(1))}`, { body: randomBytes(2000) })).status).toBe(400);
    fs.writeFileSync(file, JSON.stringify({ deleteEnabled: false, maxManifestSize: 4096, referrersEnabled: true, maxUploadSize: 1024 }));
    const [line] = await logged(server, 'configuration reloaded');
    expect(line!.trigger).toBe('config file changed');
    expect(line!.changed.sort()).toEqual(['deleteEnabled', 'maxUploadSize']);
    // The upload limit is in force for the next request: a 2000-byte blob is refused before it is read.
    expect((await c.send('POST', `/v2/watch/app/blobs/uploads/?digest=${digestOf(randomBytes(1))}`, { body: randomBytes(2000) })).status).toBe(413);
    const digest = await c.pushBlob('watch/app', randomBytes(10));
    expect((await c.delete(`/v2/watch/app/blobs/${digest}`)).status).toBe(405);
    // --no-referrers still wins over the file.
    expect((await c.get(`/v2/watch/app/referrers/${digest}`)).status).toBe(404);
  }, 30_000);
});

describe('SIGHUP reload of notifications and mirror settings', () => {
  test('starts, re-targets and stops webhook delivery without a restart', async () => {
    const seen: { path: string; actions: string[] }[] = [];
    const receiver = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: async (request) => {
        const body = (await request.json()) as { events: { action: string }[] };
        seen.push({ path: new URL(request.url).pathname, actions: body.events.map((e) => e.action) });
        return new Response(null, { status: 204 });
      },
    });
    try {
      const { server, file, c } = await serveWithConfig({});
      await c.pushBlob('hooks/app', randomBytes(10));
      const endpoint = (p: string) => ({ endpoints: [{ name: 'ci', url: `http://127.0.0.1:${receiver.port}${p}`, actions: ['push'] }] });
      fs.writeFileSync(file, JSON.stringify({ notifications: endpoint('/one') }));
      server.proc.kill('SIGHUP');
      await logged(server, 'configuration reloaded');
      await c.pushBlob('hooks/app', randomBytes(11));
      const deadline = Date.now() + 5000;
      while (!seen.length && Date.now() < deadline) await Bun.sleep(20);
      fs.writeFileSync(file, JSON.stringify({ notifications: endpoint('/two') }));
      server.proc.kill('SIGHUP');
      await logged(server, 'configuration reloaded', 2);
      await c.pushBlob('hooks/app', randomBytes(12));
      while (seen.length < 2 && Date.now() < deadline) await Bun.sleep(20);
      fs.writeFileSync(file, JSON.stringify({}));
      server.proc.kill('SIGHUP');
      await logged(server, 'configuration reloaded', 3);
      await c.pushBlob('hooks/app', randomBytes(13));
      await Bun.sleep(300);
      // Only the pushes made while an endpoint was configured, each to the endpoint of its time.
      expect(seen).toEqual([
        { path: '/one', actions: ['push'] },
        { path: '/two', actions: ['push'] },
      ]);
    } finally {
      await receiver.stop(true);
    }
  }, 30_000);

  test('a shorter mirror freshness applies at once: the next tag read revalidates upstream', async () => {
    const upstream = serveRegistry();
    try {
      const first = randomImage([100], 'v1');
      await pushImage(upstream.url, 'library/app', 'latest', first);
      const { server, file, c } = await serveWithConfig({ mirrors: [{ name: 'up', url: upstream.url }], mirrorFreshness: 3600, mirrorStaleWhileRevalidate: 0 });
      const digestOfTag = async () => {
        const res = await c.get('/v2/up/library/app/manifests/latest', { accept: ACCEPT_MANIFESTS });
        await res.arrayBuffer();
        return res.headers.get('docker-content-digest');
      };
      expect(await digestOfTag()).toBe(first.digest);
      const second = randomImage([100], 'v2');
      await pushImage(upstream.url, 'library/app', 'latest', second);
      // Within an hour's freshness the cached tag is served as it was.
      expect(await digestOfTag()).toBe(first.digest);
      fs.writeFileSync(file, JSON.stringify({ mirrors: [{ name: 'up', url: upstream.url }], mirrorFreshness: 0, mirrorStaleWhileRevalidate: 0 }));
      server.proc.kill('SIGHUP');
      const [line] = await logged(server, 'configuration reloaded');
      expect(line!.changed).toEqual(['mirrorFreshness']);
      expect(await digestOfTag()).toBe(second.digest);
      // Adding an upstream is not live: refused for that setting, reported, and the rest stays.
      fs.writeFileSync(file, JSON.stringify({ mirrors: [{ name: 'up', url: upstream.url }, { name: 'other', url: upstream.url }], mirrorFreshness: 0, mirrorStaleWhileRevalidate: 0 }));
      server.proc.kill('SIGHUP');
      const [partial] = await logged(server, 'configuration reloaded in part; some settings were not applied');
      expect(partial!.failed[0]).toContain('needs a restart');
    } finally {
      await upstream.close();
    }
  }, 30_000);
});
