/** Upload limits: open-session caps, the upload size cap, the body idle deadline, and a purge no request can stall. */
import { afterEach, describe, expect, test } from 'bun:test';
import { createLogger } from '../../src/logger.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { createRegistry } from '../../src/registry.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import { Client, expectError, randomBytes, streamOf } from '../helpers/client.ts';
import { openRegistry, type TestRegistry } from '../helpers/registry.ts';

const open: TestRegistry[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

function registry(options: Parameters<typeof openRegistry>[0] = {}): TestRegistry {
  const t = openRegistry(options);
  open.push(t);
  return t;
}

/** A body that sends `first` and then nothing until `release` is called (which errors it, like a dropped client). */
function hangingBody(first: Uint8Array): { body: ReadableStream<Uint8Array>; release(): void } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      c.enqueue(first);
    },
  });
  return { body, release: () => controller.error(new Error('client went away')) };
}

function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`;
}

async function expectRange(t: TestRegistry, location: string, size: number): Promise<void> {
  const res = await t.client.get(location);
  expect(res.status).toBe(204);
  expect(res.headers.get('range')).toBe(`0-${Math.max(size - 1, 0)}`);
}

describe('open upload session caps', () => {
  test('a repository at its session cap answers 429 TOOMANYREQUESTS with Retry-After, other repositories still start', async () => {
    const t = registry({ maxUploadSessionsPerRepository: 3 });
    const sessions = [];
    for (let i = 0; i < 3; i++) sessions.push(await t.client.startUpload('cap/one'));
    const refused = await t.client.send('POST', '/v2/cap/one/blobs/uploads/');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const error = await expectError(refused, 429, 'TOOMANYREQUESTS');
    expect(error.detail).toEqual({ limit: 3 });
    // A monolithic upload needs a session too.
    const blob = randomBytes(32);
    expect((await t.client.send('POST', `/v2/cap/one/blobs/uploads/?digest=${digestOf(blob)}`, { body: blob })).status).toBe(429);
    await t.client.startUpload('cap/two');
    // Finishing or cancelling a session makes room again.
    expect((await t.client.delete(sessions[0]!)).status).toBe(204);
    await t.client.startUpload('cap/one');
  });

  test('the registry-wide cap counts sessions of every repository', async () => {
    const t = registry({ maxUploadSessions: 2 });
    const first = await t.client.startUpload('cap/a');
    await t.client.startUpload('cap/b');
    await expectError(await t.client.send('POST', '/v2/cap/c/blobs/uploads/'), 429, 'TOOMANYREQUESTS');
    const blob = randomBytes(16);
    expect((await t.client.send('PUT', withDigest(first, digestOf(blob)), { body: blob })).status).toBe(201);
    await t.client.startUpload('cap/c');
  });

  test('concurrent starts never open more sessions than the cap', async () => {
    const t = registry({ maxUploadSessionsPerRepository: 5 });
    const answers = await Promise.all(Array.from({ length: 40 }, () => t.client.send('POST', '/v2/cap/race/blobs/uploads/')));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202).length).toBe(5);
    expect(statuses.filter((s) => s === 429).length).toBe(35);
    expect(await t.registry.storage.ledger.count('cap/race')).toBe(5);
  });

  test('the caps hold with in-memory storage too', async () => {
    const memory = createRegistry({ storage: memoryStorage(), logger: createLogger('silent'), maxUploadSessions: 3, maxUploadSessionsPerRepository: 2 });
    try {
      const c = new Client((request) => memory.fetch(request));
      await c.startUpload('mem/a');
      await c.startUpload('mem/a');
      await expectError(await c.send('POST', '/v2/mem/a/blobs/uploads/'), 429, 'TOOMANYREQUESTS');
      await c.startUpload('mem/b');
      await expectError(await c.send('POST', '/v2/mem/c/blobs/uploads/'), 429, 'TOOMANYREQUESTS');
    } finally {
      await memory.close();
    }
  });

  test('a mount of a blob the registry has needs no session and passes the cap', async () => {
    const t = registry({ maxUploadSessionsPerRepository: 1 });
    const digest = await t.client.pushBlob('cap/src', randomBytes(64));
    await t.client.startUpload('cap/dst');
    const res = await t.client.send('POST', `/v2/cap/dst/blobs/uploads/?mount=${digest}&from=cap/src`);
    expect(res.status).toBe(201);
  });
});

describe('upload size cap', () => {
  test('a PATCH whose Content-Length passes the cap answers 413 BLOB_UPLOAD_INVALID and leaves the session as it was', async () => {
    const t = registry({ maxUploadSize: 100 });
    const location = await t.client.startUpload('size/repo');
    expect((await t.client.send('PATCH', location, { body: randomBytes(60) })).status).toBe(202);
    const error = await expectError(await t.client.send('PATCH', location, { body: randomBytes(41) }), 413, 'BLOB_UPLOAD_INVALID');
    expect(error.detail).toEqual({ limit: 100 });
    await expectRange(t, location, 60);
    expect((await t.client.send('PATCH', location, { body: randomBytes(40) })).status).toBe(202);
    await expectRange(t, location, 100);
  });

  test('a streamed PATCH without a length is cut at the cap, and the session keeps its earlier bytes', async () => {
    const t = registry({ maxUploadSize: 100 });
    const location = await t.client.startUpload('size/stream');
    expect((await t.client.send('PATCH', location, { body: randomBytes(50) })).status).toBe(202);
    const res = await t.client.send('PATCH', location, { body: streamOf(randomBytes(30), randomBytes(30)) });
    await expectError(res, 413, 'BLOB_UPLOAD_INVALID');
    await expectRange(t, location, 50);
  });

  test('a monolithic POST over the cap answers 413 and leaves no session behind', async () => {
    const t = registry({ maxUploadSize: 100 });
    const blob = randomBytes(101);
    await expectError(await t.client.send('POST', `/v2/size/mono/blobs/uploads/?digest=${digestOf(blob)}`, { body: blob }), 413, 'BLOB_UPLOAD_INVALID');
    const streamed = await t.client.send('POST', `/v2/size/mono/blobs/uploads/?digest=${digestOf(blob)}`, { body: streamOf(blob.subarray(0, 50), blob.subarray(50)) });
    await expectError(streamed, 413, 'BLOB_UPLOAD_INVALID');
    expect(await t.registry.storage.ledger.count()).toBe(0);
    const fits = randomBytes(100);
    expect((await t.client.send('POST', `/v2/size/mono/blobs/uploads/?digest=${digestOf(fits)}`, { body: fits })).status).toBe(201);
  });

  test('a last chunk on PUT that passes the cap answers 413 and commits nothing', async () => {
    const t = registry({ maxUploadSize: 100 });
    const location = await t.client.startUpload('size/put');
    const blob = randomBytes(120);
    const res = await t.client.send('PUT', withDigest(location, digestOf(blob)), { body: blob });
    await expectError(res, 413, 'BLOB_UPLOAD_INVALID');
    expect((await t.client.head(`/v2/size/put/blobs/${digestOf(blob)}`)).status).toBe(404);
    await expectRange(t, location, 0);
  });
});

describe('body idle deadline', () => {
  test('a PATCH body that goes silent is cut with 408 and the session stays as it was before the chunk', async () => {
    const t = registry({ bodyIdleTimeoutMs: 200 });
    const location = await t.client.startUpload('idle/body');
    expect((await t.client.send('PATCH', location, { body: randomBytes(10) })).status).toBe(202);
    const hang = hangingBody(randomBytes(7));
    const started = performance.now();
    const res = await t.client.send('PATCH', location, { body: hang.body });
    const elapsed = performance.now() - started;
    await expectError(res, 408, 'BLOB_UPLOAD_INVALID');
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(3000);
    await expectRange(t, location, 10);
    // The session goes on: the next chunk continues from 10 bytes.
    expect((await t.client.send('PATCH', location, { body: randomBytes(5), headers: { 'content-range': '10-14' } })).status).toBe(202);
    await expectRange(t, location, 15);
  });

  test('a body that trickles, each gap under the idle timeout but under the minimum rate, is cut with 408', async () => {
    const t = registry({ bodyIdleTimeoutMs: 300, minBodyRate: 100 });
    const location = await t.client.startUpload('idle/trickle');
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 100) return controller.close();
        await Bun.sleep(50);
        sent++;
        controller.enqueue(randomBytes(1));
      },
    });
    const started = performance.now();
    const res = await t.client.send('PATCH', location, { body });
    const error = await expectError(res, 408, 'BLOB_UPLOAD_INVALID');
    expect(error.detail).toEqual({ idleTimeoutSeconds: 0.3, minBytesPerSecond: 100 });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(sent).toBeLessThan(100);
    await expectRange(t, location, 0);
  });

  test('a body that keeps sending, with every gap under the deadline and above the minimum rate, is never cut', async () => {
    const t = registry({ bodyIdleTimeoutMs: 300, minBodyRate: 16 });
    const location = await t.client.startUpload('idle/steady');
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 8) return controller.close();
        await Bun.sleep(100);
        sent++;
        controller.enqueue(randomBytes(4));
      },
    });
    expect((await t.client.send('PATCH', location, { body })).status).toBe(202);
    await expectRange(t, location, 32);
  });
});

describe('purging idle sessions', () => {
  test('a purge never waits behind a hung PATCH: it skips that session and purges the idle ones', async () => {
    const t = registry({ uploadIdleTimeoutMs: 50, bodyIdleTimeoutMs: 60_000 });
    const idle = await t.client.startUpload('purge/idle');
    const busy = await t.client.startUpload('purge/busy');
    const hang = hangingBody(randomBytes(3));
    const patch = t.client.send('PATCH', busy, { body: hang.body });
    await Bun.sleep(120);
    const purged = await Promise.race([t.registry.purgeUploads(), Bun.sleep(3000).then(() => 'purge still waiting after 3 s' as const)]);
    hang.release();
    await patch;
    expect(purged).toBe(1);
    expect((await t.client.get(idle)).status).toBe(404);
  });

  test('purges never stack up: a call while one runs joins it', async () => {
    const t = registry();
    const first = t.registry.purgeUploads();
    expect(t.registry.purgeUploads()).toBe(first);
    await first;
    expect(t.registry.purgeUploads()).not.toBe(first);
  });
});

describe('an upload session the ledger cannot record', () => {
  test('answers an error and leaves no partial file behind (a full disk fails the ledger first)', async () => {
    const t = registry();
    const fsys = await import('node:fs');
    const path = await import('node:path');
    t.registry.storage.ledger.add = () => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    };
    const res = await t.client.send('POST', '/v2/ledger/full/blobs/uploads/');
    expect(res.status).toBeGreaterThanOrEqual(500);
    await res.arrayBuffer();
    const uploads = path.join(t.root, 'uploads');
    const left = fsys.existsSync(uploads) ? fsys.readdirSync(uploads) : [];
    expect(left).toEqual([]);
  });
});
