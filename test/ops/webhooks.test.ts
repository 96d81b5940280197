/**
 * Webhook notifications from a real `marina serve` process to receivers served by this test on 127.0.0.1:
 * order and payload, filters, delivery after a receiver outage, and pushes that do not wait for a hung receiver.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Server } from 'bun';
import { digestOf } from '../../src/oci/digest.ts';
import { Client, OCI_MANIFEST, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import { freePort } from '../support/process.ts';
import { ACCEPT_MANIFESTS, serveRegistry } from '../mirror/support/harness.ts';
import { pushImage as pushUpstream, randomImage } from '../mirror/support/images.ts';
import { scrape, series } from './scrape.ts';

interface Received {
  path: string;
  contentType: string | null;
  auth: string | null;
  events: any[];
}

/** A webhook receiver on a fixed port, so it can be stopped and started again at the same URL. */
class Receiver {
  received: Received[] = [];
  private server: Server<undefined> | undefined;
  hang = false;
  private hung: (() => void)[] = [];
  constructor(readonly port: number) {}

  /** Binds the port again; a port just released can take a moment to be free. */
  async restart(): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        return this.start();
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await Bun.sleep(50);
      }
    }
  }

  start(): void {
    this.server = Bun.serve({
      hostname: '127.0.0.1',
      port: this.port,
      fetch: async (request) => {
        if (this.hang) return new Promise<Response>((resolve) => this.hung.push(() => resolve(new Response('late'))));
        const body = (await request.json()) as { events: any[] };
        this.received.push({ path: new URL(request.url).pathname, contentType: request.headers.get('content-type'), auth: request.headers.get('authorization'), events: body.events });
        return new Response(null, { status: 204 });
      },
    });
  }

  async stop(): Promise<void> {
    for (const release of this.hung.splice(0)) release();
    await this.server?.stop(true);
    this.server = undefined;
  }

  events(pathname: string): any[] {
    return this.received.filter((r) => r.path === pathname).flatMap((r) => r.events);
  }

  async waitFor(pathname: string, count: number, ms = 10_000): Promise<any[]> {
    const deadline = Date.now() + ms;
    while (this.events(pathname).length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} events at ${pathname}, got ${JSON.stringify(this.events(pathname).map((e) => e.action))}`);
      await Bun.sleep(20);
    }
    return this.events(pathname);
  }
}

const dirs: string[] = [];
const servers: ServerProcess[] = [];
const receivers: Receiver[] = [];

async function serveWith(notifications: unknown, args: string[] = []): Promise<ServerProcess> {
  const dir = tempDir('marina-hooks-');
  dirs.push(dir);
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(config, JSON.stringify({ notifications }));
  const server = await startServer(path.join(dir, 'data'), ['--config', config, ...args]);
  servers.push(server);
  return server;
}

async function receiver(): Promise<Receiver> {
  const r = new Receiver(await freePort());
  r.start();
  receivers.push(r);
  return r;
}

/** Pushes a one-layer image under `tag`; returns the digests in push order. */
async function pushImage(c: Client, repo: string, tag: string): Promise<{ config: string; layer: string; manifest: string; size: number }> {
  const config = new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', n: Math.random() }));
  const layer = randomBytes(512);
  await c.pushBlob(repo, config);
  await c.pushBlob(repo, layer);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.byteLength },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(layer), size: 512 }],
  };
  const pushed = await c.pushManifest(repo, tag, manifest, OCI_MANIFEST);
  return { config: digestOf(config), layer: digestOf(layer), manifest: pushed.digest, size: pushed.bytes.byteLength };
}

afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  for (const r of receivers) await r.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('webhook notifications', () => {
  let hooks: Receiver;
  let server: ServerProcess;
  let c: Client;

  beforeAll(async () => {
    hooks = await receiver();
    const base = `http://127.0.0.1:${hooks.port}`;
    server = await serveWith({
      endpoints: [
        { name: 'all', url: `${base}/all`, headers: { Authorization: 'Bearer hook-secret' }, backoffMs: 50, maxBackoffMs: 200, timeoutMs: 2000 },
        { name: 'prod', url: `${base}/prod`, actions: ['push'], kinds: ['manifest'], repositories: ['prod/*'], backoffMs: 50, maxBackoffMs: 200 },
      ],
    });
    c = new Client((r) => fetch(r), server.url);
  });

  test('delivers push, pull and delete events in order, in Distribution envelope form', async () => {
    const img = await pushImage(c, 'team/app', 'v1');
    expect((await c.get('/v2/team/app/manifests/v1', { accept: OCI_MANIFEST })).status).toBe(200);
    expect((await c.delete('/v2/team/app/manifests/v1')).status).toBe(202);
    const events = await hooks.waitFor('/all', 5);
    expect(events.map((e) => [e.action, e.target.kind, e.target.digest])).toEqual([
      ['push', 'blob', img.config],
      ['push', 'blob', img.layer],
      ['push', 'manifest', img.manifest],
      ['pull', 'manifest', img.manifest],
      ['delete', 'tag', img.manifest],
    ]);
    const manifestPush = events[2];
    expect(manifestPush.target).toMatchObject({ repository: 'team/app', tag: 'v1', mediaType: OCI_MANIFEST, size: img.size, length: img.size });
    expect(manifestPush.source.addr).toBe(`127.0.0.1:${server.port}`);
    expect(new Date(manifestPush.timestamp).toISOString()).toBe(manifestPush.timestamp);
    expect(new Set(events.map((e) => e.id)).size).toBe(5);
    const post = hooks.received.find((r) => r.path === '/all')!;
    expect(post.contentType).toBe('application/vnd.docker.distribution.events.v1+json');
    expect(post.auth).toBe('Bearer hook-secret');
  });

  test('sends an endpoint only the actions, kinds and repositories its filters name', async () => {
    await pushImage(c, 'prod/api', 'v1');
    await pushImage(c, 'dev/api', 'v1');
    await c.get('/v2/prod/api/manifests/v1', { accept: OCI_MANIFEST });
    await hooks.waitFor('/all', 5 + 3 + 3 + 1);
    await Bun.sleep(200);
    const prod = hooks.events('/prod');
    expect(prod.map((e) => [e.action, e.target.kind, e.target.repository, e.target.tag])).toEqual([['push', 'manifest', 'prod/api', 'v1']]);
  });

  test('holds events while the receiver is down and delivers them in order once it is back', async () => {
    await hooks.stop();
    const before = hooks.events('/all').length;
    const pushed: string[] = [];
    for (const tag of ['a', 'b', 'c']) pushed.push((await pushImage(c, 'outage/app', tag)).manifest);
    const queueLength = async () => (await scrape(server.url)).get(series('marina_webhook_queue_length', { endpoint: 'all' }));
    const deadline = Date.now() + 5000;
    while ((await queueLength()) !== 9 && Date.now() < deadline) await Bun.sleep(50);
    expect(await queueLength()).toBe(9);
    expect(hooks.events('/all').length).toBe(before);
    await hooks.restart();
    const events = (await hooks.waitFor('/all', before + 9)).slice(before);
    expect(events.filter((e) => e.target.kind === 'manifest').map((e) => [e.target.tag, e.target.digest])).toEqual([
      ['a', pushed[0]],
      ['b', pushed[1]],
      ['c', pushed[2]],
    ]);
    const m = await scrape(server.url);
    expect(m.get(series('marina_webhook_queue_length', { endpoint: 'all' }))).toBe(0);
    expect(m.get(series('marina_webhook_failed_attempts_total', { endpoint: 'all' }))).toBeGreaterThan(0);
  });
});

describe('a receiver that never answers', () => {
  test('does not slow pushes: events queue up to the cap and the rest are counted as dropped', async () => {
    const hung = await receiver();
    hung.hang = true;
    const slow = await serveWith({ endpoints: [{ name: 'hung', url: `http://127.0.0.1:${hung.port}/`, timeoutMs: 30_000, queueSize: 5 }] });
    const quick = await serveWith({ endpoints: [] });
    const timePushes = async (s: ServerProcess) => {
      const client = new Client((r) => fetch(r), s.url);
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t = performance.now();
        await client.pushBlob('hang/app', randomBytes(256));
        times.push(performance.now() - t);
      }
      return times.sort((a, b) => a - b);
    };
    await timePushes(quick); // warm-up of the same code path
    const withHang = await timePushes(slow);
    const without = await timePushes(quick);
    // A push that waited for the receiver would take the 30 s timeout; allow generous slack for a loaded machine.
    expect(withHang[withHang.length - 1]!).toBeLessThan(1000);
    console.log(`blob push with a hung receiver: median ${withHang[5]!.toFixed(2)} ms, max ${withHang[9]!.toFixed(2)} ms; without notifications: median ${without[5]!.toFixed(2)} ms, max ${without[9]!.toFixed(2)} ms`);
    const m = await scrape(slow.url);
    // One batch is in flight (taken from the queue only on success), so the queue holds the cap.
    expect(m.get(series('marina_webhook_queue_length', { endpoint: 'hung' }))).toBe(5);
    expect(m.get(series('marina_webhook_events_dropped_total', { endpoint: 'hung' }))).toBe(5);
    expect(m.get(series('marina_webhook_events_delivered_total', { endpoint: 'hung' }))).toBe(0);
  });
});

describe('mirror fills', () => {
  test('send a fill event for each manifest and blob fetched from an upstream, and none for cache hits', async () => {
    const upstream = serveRegistry();
    try {
      const image = randomImage([700], 'fill');
      await pushUpstream(upstream.url, 'library/redis', '7', image);
      const hooks = await receiver();
      const mirror = await serveWith({ endpoints: [{ name: 'fills', url: `http://127.0.0.1:${hooks.port}/fills`, actions: ['fill'] }] }, ['--mirror', `up=${upstream.url}`]);
      const get = async (p: string, headers: Record<string, string> = {}) => {
        const res = await fetch(`${mirror.url}${p}`, { headers });
        await res.arrayBuffer();
        return res;
      };
      expect((await get('/v2/up/library/redis/manifests/7', { accept: ACCEPT_MANIFESTS })).status).toBe(200);
      for (let i = 0; i < 2; i++) expect((await get(`/v2/up/library/redis/blobs/${image.layers[0]!.digest}`)).status).toBe(200);
      const events = await hooks.waitFor('/fills', 2);
      await Bun.sleep(200);
      expect(hooks.events('/fills').map((e) => [e.action, e.target.kind, e.target.repository, e.target.digest, e.target.size])).toEqual([
        ['fill', 'manifest', 'up/library/redis', image.digest, image.manifest.byteLength],
        ['fill', 'blob', 'up/library/redis', image.layers[0]!.digest, 700],
      ]);
      expect(events[0].target.tag).toBe('7');
    } finally {
      await upstream.close();
    }
  });
});
