/**
 * `marina serve --workers 2`: two real processes on one port and one data directory. Every request goes on a new
 * connection, so the kernel spreads them over the workers; `X-Marina-Worker` says which one answered.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { digestOf } from '../../src/oci/digest.ts';
import { Client, OCI_CONFIG, OCI_MANIFEST, bytesOf, descriptorOf, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';

/** A client whose every request opens a new connection. */
function freshConnections(server: ServerProcess): Client {
  return new Client((request) => {
    request.headers.set('connection', 'close');
    return fetch(request, { keepalive: false, signal: AbortSignal.timeout(10_000) });
  }, server.url);
}

const workerOf = (res: Response) => res.headers.get('x-marina-worker');

/** Pids of the workers from their "worker ready" lines, latest last. */
function workerPids(server: ServerProcess): number[] {
  return [...server.stderr().matchAll(/worker ready worker=\d+ pid=(\d+)/g)].map((m) => Number(m[1]));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

describe('serve --workers 2', () => {
  let data: string;
  let server: ServerProcess;
  let client: Client;

  beforeAll(async () => {
    data = tempDir('marina-workers-');
    server = await startServer(data, ['--workers', '2']);
    client = freshConnections(server);
    await until('the second worker', () => workerPids(server).length === 1);
  });
  afterAll(async () => {
    await server?.stop('SIGTERM', 15_000);
    fs.rmSync(data, { recursive: true, force: true });
  });

  test('names the worker count in its one startup line', () => {
    expect(server.startupLine).toContain('workers=2');
    expect(server.stderr().match(/ listening on http/g)?.length).toBe(1);
  });

  test('requests on new connections are served by both workers', async () => {
    const seen = new Set<string | null>();
    for (let i = 0; i < 200 && seen.size < 2; i++) {
      const res = await client.get('/v2/');
      expect(res.status).toBe(200);
      seen.add(workerOf(res));
    }
    expect([...seen].sort()).toEqual(['0', '1']);
  });

  test('a chunked upload whose PATCHes land on different workers completes with the right digest', async () => {
    let location = await client.startUpload('spread/upload');
    const chunks: Uint8Array[] = [];
    const patchedBy = new Set<string | null>();
    let offset = 0;
    for (let i = 0; i < 100 && (patchedBy.size < 2 || chunks.length < 6); i++) {
      const chunk = randomBytes(64 * 1024 + i);
      const res = await client.send('PATCH', location, {
        body: chunk,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.byteLength - 1}` },
      });
      expect(res.status).toBe(202);
      chunks.push(chunk);
      offset += chunk.byteLength;
      expect(res.headers.get('range')).toBe(`0-${offset - 1}`);
      patchedBy.add(workerOf(res));
      location = client.url(res.headers.get('location')!);
    }
    expect(patchedBy.size).toBe(2);
    const all = Buffer.concat(chunks);
    const digest = digestOf(all);
    const put = await client.send('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`);
    expect(put.status).toBe(201);
    const got = await client.get(`/v2/spread/upload/blobs/${digest}`);
    expect(got.status).toBe(200);
    expect(digestOf(new Uint8Array(await got.arrayBuffer()))).toBe(digest);
  });

  test('a tag moved on one worker is seen at once by a GET on a new connection, 50 times over', async () => {
    const config = bytesOf({ architecture: 'amd64', os: 'linux' });
    await client.pushBlob('spread/tags', config);
    let crossed = 0;
    // Busy workers: their event loops run requests back to back, as under real load (bounded: stops with the loop).
    let done = false;
    const busy = Array.from({ length: 4 }, async () => {
      for (let n = 0; n < 5000 && !done; n++) await (await client.get('/v2/spread/tags/manifests/latest', { accept: OCI_MANIFEST })).arrayBuffer();
    });
    try {
      for (let i = 0; i < 50; i++) {
        const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptorOf(OCI_CONFIG, config), layers: [], annotations: { round: String(i) } };
        const put = await client.putManifest('spread/tags', 'latest', manifest, OCI_MANIFEST);
        expect(put.status).toBe(201);
        const digest = put.headers.get('docker-content-digest');
        const get = await client.get('/v2/spread/tags/manifests/latest', { accept: OCI_MANIFEST });
        expect(get.status).toBe(200);
        expect(get.headers.get('docker-content-digest')).toBe(digest);
        await get.arrayBuffer();
        if (workerOf(get) !== workerOf(put)) crossed++;
      }
    } finally {
      done = true;
      await Promise.all(busy);
    }
    // The check above means something only if reads did land on the other worker.
    expect(crossed).toBeGreaterThan(0);
  });

  test('SIGHUP to the primary reloads the configuration in every worker', async () => {
    const reloads = () => server.stderr().match(/configuration reloaded/g)?.length ?? 0;
    const before = reloads();
    server.proc.kill('SIGHUP');
    await until('both processes to reload', () => reloads() >= before + 2);
    expect(reloads()).toBe(before + 2);
  });

  test('a worker killed with SIGKILL is restarted while requests keep succeeding', async () => {
    const [victim] = workerPids(server).slice(-1);
    expect(alive(victim!)).toBe(true);
    process.kill(victim!, 'SIGKILL');
    // A connection the kernel queued on the dying worker is reset (as with any process killed mid-accept);
    // a client's retry lands on a live worker. Every request must succeed within two retries.
    const statuses: number[] = [];
    let resets = 0;
    for (let i = 0; i < 40; i++) {
      for (let attempt = 0; ; attempt++) {
        try {
          statuses.push((await client.get('/v2/')).status);
          break;
        } catch (error) {
          if (attempt === 2) throw error;
          resets++;
        }
      }
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(resets).toBeLessThan(5);
    await until('a restarted worker', () => workerPids(server).length === 2);
    expect(server.stderr()).toContain('worker exited; restarting it');
    const [replacement] = workerPids(server).slice(-1);
    expect(replacement).not.toBe(victim);
    const seen = new Set<string | null>();
    for (let i = 0; i < 200 && seen.size < 2; i++) seen.add(workerOf(await client.get('/v2/')));
    expect(seen.size).toBe(2);
  });

  test('SIGTERM to the primary stops every worker', async () => {
    const pids = workerPids(server);
    const [current] = pids.slice(-1);
    expect(alive(current!)).toBe(true);
    expect(await server.stop('SIGTERM', 15_000)).toBe(0);
    await until('the workers to exit', () => pids.every((p) => !alive(p)), 5000);
  });
});
