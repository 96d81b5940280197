/** Uploads take their session's lock from the storage's `Locks`, and refuse to write once its lease is lost. */
import { Database } from 'bun:sqlite';
import { afterEach, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLogger } from '../../src/logger.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { createRegistry, type Registry } from '../../src/registry.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import { ProcessLocks } from '../../src/storage/process-locks.ts';
import { SqliteLocks } from '../../src/storage/sqlite-locks.ts';
import { fsStorage } from '../../src/storage/storage.ts';
import type { Lease, LockOptions } from '../../src/storage/types.ts';
import { Client, expectError } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';

const R = 'locks/repo';
let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.reverse()) await close();
  closers = [];
});

function open(registry: Registry): Client {
  closers.push(() => registry.close());
  return new Client((request) => registry.fetch(request));
}

const uploadId = (location: string) => new URL(location).pathname.split('/').pop()!;
const withDigest = (location: string, digest: string) => `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`;

test('a PATCH waits while another process holds its upload lock, and host locks leave no row behind', async () => {
  const root = tempDir();
  closers.push(async () => fs.rmSync(root, { recursive: true, force: true }));
  const c = open(createRegistry({ storage: fsStorage({ root, sync: false, locks: 'host' }), logger: createLogger('silent') }));
  // A second SqliteLocks on the same file has its own in-process queue: to the registry it is another process.
  const other = new SqliteLocks(path.join(root, 'locks.sqlite'));
  closers.push(() => other.close());

  const location = await c.startUpload(R);
  const held = await other.acquire(`upload:${uploadId(location)}`);
  let answered = false;
  const patch = c.send('PATCH', location, { body: 'abc', headers: { 'content-type': 'application/octet-stream', 'content-range': '0-2' } })
    .then((res) => ((answered = true), res));
  await Bun.sleep(150);
  expect(answered).toBe(false);
  await held.release();
  const res = await patch;
  expect(res.status).toBe(202);
  expect(res.headers.get('range')).toBe('0-2');
  const put = await c.send('PUT', withDigest(c.url(res.headers.get('location')!), digestOf('abc')));
  expect(put.status).toBe(201);

  const db = new Database(path.join(root, 'locks.sqlite'), { readonly: true });
  try {
    expect(db.query<{ n: number }, []>('SELECT count(*) AS n FROM locks').get()!.n).toBe(0);
  } finally {
    db.close();
  }
});

/** In-process locks with a 20 ms lease, so that a process stalled for longer loses its upload's lock. */
class ShortLeases extends ProcessLocks {
  override run<T>(key: string, fn: (lease: Lease) => Promise<T>, options?: LockOptions): Promise<T> {
    return super.run(key, fn, { ...options, leaseMs: 20 });
  }
}

test('a PUT whose process stalled past its upload lock\'s lease is refused before the commit, and nothing is stored', async () => {
  const c = open(createRegistry({ storage: { ...memoryStorage(), locks: new ShortLeases() }, logger: createLogger('silent') }));
  const location = await c.startUpload(R);
  const bytes = new TextEncoder().encode('stalled chunk');
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      // Blocks the whole process, as a long GC pause or a SIGSTOP would: no renewal can run meanwhile.
      Bun.sleepSync(80);
      controller.enqueue(bytes);
      controller.close();
    },
  });
  const digest = digestOf(bytes);
  const res = await c.transport(new Request(withDigest(location, digest), { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) } }));
  await expectError(res, 503, 'UNKNOWN');
  expect((await c.head(`/v2/${R}/blobs/${digest}`)).status).toBe(404);
});
