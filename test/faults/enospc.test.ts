/**
 * A full disk, for real: the data directory on an 8 MiB tmpfs (CI runs as root). A PATCH, a commit and an index
 * write that do not fit are answered 507/503 with the spec's JSON error body and no stack trace, nothing partial is
 * stored or served, no temporary file is left behind, and once space is freed the same server works again.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestOf } from '../../src/oci/digest.ts';
import { FsBlobStore } from '../../src/storage/fs-blob-store.ts';
import { bytesOf, OCI_MANIFEST, randomBytes } from '../helpers/client.ts';
import type { ServerProcess } from '../helpers/server.ts';
import { clientOf, expectConsistent, FaultBed, SmallDisk, kill, makeImage, pushImage, verifyPull } from './support.ts';

const MiB = 1024 * 1024;
const bed = new FaultBed();
const disk = new SmallDisk('marina-enospc-');
const mountPoint = disk.mountPoint;

beforeAll(async () => {
  disk.mount();
});

afterAll(async () => {
  await bed.cleanup();
  disk.unmount();
});

/** Asserts a 507 (or a 503 for an index write) with the spec's JSON error body and a message naming the cause. */
async function expectStorageError(res: Response, statuses: number[] = [507]): Promise<void> {
  const text = await res.text();
  if (!statuses.includes(res.status)) throw new Error(`expected ${statuses.join(' or ')}, got ${res.status}: ${text}`);
  expect(res.headers.get('content-type')).toBe('application/json');
  const body = JSON.parse(text) as { errors: { code: string; message: string }[] };
  expect(body.errors[0]!.code).toBe('UNKNOWN');
  expect(body.errors[0]!.message).toMatch(/insufficient storage|could not commit/);
  expect(text).not.toContain(' at ');
}

function noStackTraces(server: ServerProcess): void {
  expect(server.stderr()).not.toMatch(/write\.js|^\s+at /m);
  expect(server.stderr()).not.toContain('request failed');
}

describe('a full disk', () => {
  let root: string;
  let server: ServerProcess;

  beforeAll(async () => {
    root = path.join(mountPoint, 'data');
    server = await bed.serve(root);
  });

  test('a PATCH that does not fit answers 507 and rolls the upload back; after freeing space the upload completes', async () => {
    const c = clientOf(server);
    const first = randomBytes(256 * 1024);
    const location = await c.startUpload('full/patch');
    expect((await c.send('PATCH', location, { body: first, headers: { 'content-range': `0-${first.byteLength - 1}` } })).status).toBe(202);
    const free = disk.fill(1 * MiB);
    try {
      const big = randomBytes(2 * MiB);
      const res = await c.send('PATCH', location, { body: big, headers: { 'content-range': `${first.byteLength}-${first.byteLength + big.byteLength - 1}` } });
      await expectStorageError(res);
      const state = await c.get(location);
      expect(state.headers.get('range')).toBe(`0-${first.byteLength - 1}`);
    } finally {
      free();
    }
    const rest = randomBytes(100 * 1024);
    const all = new Uint8Array([...first, ...rest]);
    expect((await c.send('PATCH', location, { body: rest, headers: { 'content-range': `${first.byteLength}-${all.byteLength - 1}` } })).status).toBe(202);
    expect((await c.send('PUT', `${location}?digest=${digestOf(all)}`)).status).toBe(201);
    noStackTraces(server);
  }, 30_000);

  test('a blob whose commit does not fit answers 507, leaves no partial file, and is not served', async () => {
    const c = clientOf(server);
    const blob = randomBytes(2 * MiB);
    const free = disk.fill(1 * MiB);
    try {
      const res = await c.send('POST', `/v2/full/commit/blobs/uploads/?digest=${digestOf(blob)}`, { body: blob, headers: { 'content-type': 'application/octet-stream' } });
      await expectStorageError(res);
      expect((await c.head(`/v2/full/commit/blobs/${digestOf(blob)}`)).status).toBe(404);
      expect(fs.readdirSync(path.join(root, 'uploads'))).toEqual([]);
    } finally {
      free();
    }
    expect((await c.send('POST', `/v2/full/commit/blobs/uploads/?digest=${digestOf(blob)}`, { body: blob })).status).toBe(201);
    noStackTraces(server);
  }, 30_000);

  test('opening uploads on a full disk is answered 202 or 507, never a 500', async () => {
    const c = clientOf(server);
    const free = disk.fill(0);
    const statuses = new Set<number>();
    try {
      for (let i = 0; i < 50 && !statuses.has(507); i++) {
        const res = await c.send('POST', '/v2/full/open/blobs/uploads/');
        statuses.add(res.status);
        if (res.status !== 202) await expectStorageError(res);
        else await res.arrayBuffer();
      }
    } finally {
      free();
    }
    expect([...statuses].filter((s) => s !== 202 && s !== 507)).toEqual([]);
    expect((await c.send('POST', '/v2/full/open/blobs/uploads/')).status).toBe(202);
  }, 30_000);

  test('a manifest the index cannot store answers 507/503 with no stack trace; after freeing space it is stored', async () => {
    const c = clientOf(server);
    const image = makeImage([randomBytes(1024)]);
    // Blobs first, while there is room; then a manifest large enough to need new index pages on a full disk.
    expect(await pushImage(c, 'full/index', 'warmup', image)).toBe(201);
    const manifest = JSON.parse(new TextDecoder().decode(image.manifest));
    manifest.annotations = { padding: 'x'.repeat(1536 * 1024) };
    const bytes = bytesOf(manifest);
    const free = disk.fill(0);
    try {
      // Several at once: each failed commit is answered, none takes the process down.
      const answers = await Promise.all(['big', 'big2', 'big3', 'big4'].map((tag) => c.putManifest('full/index', tag, bytes, OCI_MANIFEST)));
      for (const res of answers) await expectStorageError(res, [503, 507]);
      expect((await c.head('/v2/full/index/manifests/big')).status).toBe(404);
      expect(server.proc.exitCode).toBeNull();
    } finally {
      free();
    }
    const res = await c.putManifest('full/index', 'big', bytes, OCI_MANIFEST);
    expect(res.status).toBe(201);
    expect(await verifyPull(c, 'full/index', 'big')).toEqual([]);
    expect(await verifyPull(c, 'full/index', 'warmup')).toEqual([]);
    noStackTraces(server);
    await kill(server);
    await expectConsistent(root);
  }, 30_000);

  test('a blob store put that fails on a full disk leaves no temporary file behind', async () => {
    const store = new FsBlobStore({ root: path.join(mountPoint, 'store') });
    const bytes = randomBytes(2 * MiB);
    const free = disk.fill(1 * MiB);
    try {
      const error = await store.put(digestOf(bytes), bytes).then(
        () => undefined,
        (e: NodeJS.ErrnoException) => e,
      );
      expect(error?.code).toBe('ENOSPC');
      expect(fs.readdirSync(path.join(mountPoint, 'store', 'uploads'))).toEqual([]);
    } finally {
      free();
      await store.close();
    }
  });
});
