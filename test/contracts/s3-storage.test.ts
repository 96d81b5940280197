/**
 * The S3 blob store against a real SeaweedFS started here: the BlobStore contract, multipart sessions with small
 * chunks, digest mismatches, restarts, range reads, the sweep, and a real `marina serve --blobs s3://…` process.
 * Fails (never skips) when `weed` is not installed: `bash .ci/install-tools.sh s3`.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import * as fs from 'node:fs';
import { digestOf, type Digest } from '../../src/oci/digest.ts';
import { RegistryError } from '../../src/errors.ts';
import { S3BlobStore, type S3BlobStoreOptions } from '../../src/storage/s3-blob-store.ts';
import { blobStoreContract } from './blob-store.contract.ts';
import { Client, randomBytes, streamOf } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import { makeImage, pushImage } from '../mirror/support/images.ts';
import { startDistribution, type DistributionServer } from '../support/distribution.ts';
import { startSeaweedFs, type SeaweedFs } from '../support/seaweedfs.ts';

// S3 calls on a busy 2-core machine: seconds, not milliseconds.
setDefaultTimeout(60_000);

const BUCKET = 'marina-test';
const MIB = 1024 * 1024;
let weed: SeaweedFs;

beforeAll(async () => {
  weed = await startSeaweedFs();
  await weed.createBucket(BUCKET);
}, 150_000);

afterAll(async () => {
  await weed?.stop();
});

/** A store under a prefix of its own, so listings see only what the test wrote. */
function s3Store(extra: Partial<S3BlobStoreOptions> = {}, prefix = `t-${crypto.randomUUID()}`): S3BlobStore {
  return new S3BlobStore({
    bucket: BUCKET,
    prefix,
    endpoint: weed.endpoint,
    region: weed.region,
    accessKeyId: weed.accessKeyId,
    secretAccessKey: weed.secretAccessKey,
    partSize: 5 * MIB,
    ...extra,
  });
}

/** Keys under the store's prefix (`uploads/` or `blobs/`). */
async function keysUnder(store: S3BlobStore, what: 'uploads/' | 'blobs/', prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.api.list(`${prefix}/${what}`)) keys.push(o.key);
  return keys;
}

async function removePrefix(store: S3BlobStore, prefix: string): Promise<void> {
  for await (const o of store.api.list(`${prefix}/`)) await store.api.delete(o.key);
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(RegistryError);
  expect((error as RegistryError).code).toBe(code as RegistryError['code']);
}

/** Chunks of the given sizes cut from `bytes`. */
function cut(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const n of sizes) {
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  if (at !== bytes.byteLength) throw new Error('sizes do not add up');
  return out;
}

async function bytesOf(blob: Blob | Response | undefined): Promise<Uint8Array> {
  return new Uint8Array(await blob!.arrayBuffer());
}

blobStoreContract('S3BlobStore on SeaweedFS', async () => {
  const prefix = `contract-${crypto.randomUUID()}`;
  const store = s3Store({}, prefix);
  return { store, cleanup: () => removePrefix(s3Store({}, prefix), prefix) };
});

describe('S3BlobStore on SeaweedFS', () => {
  test('an upload of many chunks under 5 MiB, over 10 MiB in all, completes as a multipart upload with the right digest', async () => {
    const prefix = `multi-${crypto.randomUUID()}`;
    const store = s3Store({}, prefix);
    const content = randomBytes(11 * MIB + 12345);
    const sizes = [MIB, 3 * MIB, 700 * 1024, 2 * MIB, 4 * MIB - 1];
    sizes.push(content.byteLength - sizes.reduce((a, b) => a + b, 0));
    const session = await store.startUpload();
    for (const chunk of cut(content, sizes)) await session.append(chunk, chunk.byteLength);
    expect(session.size).toBe(content.byteLength);
    // Two full 5 MiB parts went up as a real S3 multipart upload; the rest waits staged in the bucket.
    const open = (await store.api.listMultipart(`${prefix}/uploads/`)).length;
    expect(open).toBe(1);
    expect((await keysUnder(store, 'uploads/', prefix)).some((k) => k.includes('/pending/'))).toBe(true);
    const digest = digestOf(content);
    expect(await session.commit(digest)).toEqual({ digest, size: content.byteLength });
    expect(await bytesOf(await store.open(digest))).toEqual(content);
    // Nothing of the session is left: no staging object, no staged runs, no open multipart upload.
    expect(await keysUnder(store, 'uploads/', prefix)).toEqual([]);
    expect(await store.api.listMultipart(`${prefix}/uploads/`)).toEqual([]);
    await removePrefix(store, prefix);
  });

  test('an append that fails after uploading parts leaves the session as it was, and the upload still completes', async () => {
    const prefix = `rollback-${crypto.randomUUID()}`;
    const store = s3Store({}, prefix);
    const content = randomBytes(14 * MIB);
    const session = await store.startUpload();
    await session.append(content.subarray(0, 3 * MIB));
    // 12 MiB arrive (with the staged 3 MiB, three parts go up), then the client goes away.
    let sent = 0;
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 12) return controller.error(new Error('client went away'));
        sent++;
        controller.enqueue(randomBytes(MIB));
      },
    }, { highWaterMark: 0 });
    await expect(session.append(broken)).rejects.toThrow('client went away');
    expect(sent).toBe(12);
    expect(session.size).toBe(3 * MIB);
    // The multipart upload that failed append created is gone again.
    expect(await store.api.listMultipart(`${prefix}/uploads/`)).toEqual([]);
    await session.append(streamOf(content.subarray(3 * MIB, 9 * MIB), content.subarray(9 * MIB)));
    const digest = digestOf(content);
    expect(await session.commit(digest)).toEqual({ digest, size: content.byteLength });
    expect(digestOf(await bytesOf(await store.open(digest)))).toBe(digest);
    await removePrefix(store, prefix);
  });

  test('a multipart upload committed with the wrong digest leaves nothing under either digest key', async () => {
    const prefix = `mismatch-${crypto.randomUUID()}`;
    const store = s3Store({}, prefix);
    const content = randomBytes(6 * MIB);
    const session = await store.startUpload();
    await session.append(streamOf(content.subarray(0, 4 * MIB), content.subarray(4 * MIB)));
    const wrong = digestOf('not the content');
    await expectCode(session.commit(wrong), 'DIGEST_INVALID');
    expect(await store.stat(wrong)).toBeUndefined();
    expect(await store.stat(digestOf(content))).toBeUndefined();
    expect(await keysUnder(store, 'blobs/', prefix)).toEqual([]);
    await session.cancel();
    expect(await keysUnder(store, 'uploads/', prefix)).toEqual([]);
    expect(await store.api.listMultipart(`${prefix}/uploads/`)).toEqual([]);
  });

  test('a session resumed by a fresh store (a restart) continues and verifies by re-hashing the staging object', async () => {
    const prefix = `restart-${crypto.randomUUID()}`;
    const content = randomBytes(7 * MIB + 3);
    const first = await s3Store({}, prefix).startUpload();
    await first.append(content.subarray(0, 2 * MIB));
    await first.append(content.subarray(2 * MIB, 6 * MIB));

    const restarted = s3Store({}, prefix);
    const resumed = await restarted.resumeUpload(first.id);
    expect(resumed?.size).toBe(6 * MIB);
    await resumed!.append(content.subarray(6 * MIB));
    const digest = digestOf(content);
    expect(await resumed!.commit(digest)).toEqual({ digest, size: content.byteLength });
    expect(await bytesOf(await restarted.open(digest))).toEqual(content);
    expect(await keysUnder(restarted, 'uploads/', prefix)).toEqual([]);
    await removePrefix(restarted, prefix);
  });

  test('after a restart a wrong digest is found from S3, the staging object is removed and nothing is published', async () => {
    const prefix = `restart-bad-${crypto.randomUUID()}`;
    const content = randomBytes(6 * MIB);
    const first = await s3Store({}, prefix).startUpload();
    await first.append(content);
    const restarted = s3Store({}, prefix);
    const resumed = (await restarted.resumeUpload(first.id))!;
    const wrong = digestOf('other bytes');
    await expectCode(resumed.commit(wrong), 'DIGEST_INVALID');
    expect(await restarted.stat(wrong)).toBeUndefined();
    expect(await keysUnder(restarted, 'blobs/', prefix)).toEqual([]);
    expect(await keysUnder(restarted, 'uploads/', prefix)).toEqual([]);
    expect(await restarted.resumeUpload(first.id)).toBeUndefined();
  });

  test('two stores (two worker processes) taking turns on one session each continue from the bucket, not from a stale copy', async () => {
    const prefix = `turns-${crypto.randomUUID()}`;
    const a = s3Store({}, prefix);
    const b = s3Store({}, prefix);
    const content = randomBytes(12 * MIB + 5);
    const chunks = cut(content, [2 * MIB, 2 * MIB, 3 * MIB, MIB, 2 * MIB, 2 * MIB + 5]);
    const started = await a.startUpload();
    // Each append goes to the other store, as round-robin PATCHes do; each store kept the session it last saw.
    for (const [i, chunk] of chunks.entries()) {
      const session = (await (i % 2 === 0 ? b : a).resumeUpload(started.id))!;
      expect(session.size).toBe(chunks.slice(0, i).reduce((n, c) => n + c.byteLength, 0));
      await session.append(chunk, chunk.byteLength);
    }
    // `a` appended last (chunk 5) but `b` commits, with the size it reads from the bucket.
    const committing = (await b.resumeUpload(started.id))!;
    expect(committing.size).toBe(content.byteLength);
    const digest = digestOf(content);
    expect(await committing.commit(digest)).toEqual({ digest, size: content.byteLength });
    expect(await bytesOf(await a.open(digest))).toEqual(content);
    // `a` still holds the session in memory, yet sees that it was committed elsewhere.
    expect(await a.resumeUpload(started.id)).toBeUndefined();
    expect(await keysUnder(a, 'uploads/', prefix)).toEqual([]);
    await removePrefix(a, prefix);
  });

  test('listing follows ListObjectsV2 continuation tokens across pages', async () => {
    const prefix = `pages-${crypto.randomUUID()}`;
    const store = s3Store({}, prefix);
    const digests = await Promise.all(Array.from({ length: 7 }, async (_, i) => {
      const bytes = new TextEncoder().encode(`blob ${i}`);
      return (await store.put(digestOf(bytes), bytes)).digest;
    }));
    // The engine really pages at two keys…
    const first = await store.api.client.list({ prefix: `${prefix}/blobs/`, maxKeys: 2 });
    expect(first.contents).toHaveLength(2);
    expect(first.isTruncated).toBe(true);
    // …and the store's listing walks every page.
    const paged: string[] = [];
    for await (const o of store.api.list(`${prefix}/blobs/`, 2)) paged.push(o.key);
    expect(paged).toHaveLength(7);
    expect(new Set(paged).size).toBe(7);
    const listed: Digest[] = [];
    for await (const d of store.list()) listed.push(d);
    expect(listed.sort()).toEqual(digests.sort());
    await removePrefix(store, prefix);
  });

  test('range reads of a stored blob fetch exactly the requested bytes', async () => {
    const prefix = `range-${crypto.randomUUID()}`;
    const store = s3Store({}, prefix);
    const content = randomBytes(3 * MIB + 17);
    const digest = digestOf(content);
    await store.put(digest, content);
    const blob = (await store.open(digest))!;
    expect(blob.size).toBe(content.byteLength);
    expect(await bytesOf(blob.slice(0, 1))).toEqual(content.subarray(0, 1));
    expect(await bytesOf(blob.slice(MIB, 2 * MIB + 5))).toEqual(content.subarray(MIB, 2 * MIB + 5));
    expect(await bytesOf(blob.slice(content.byteLength - 10))).toEqual(content.subarray(content.byteLength - 10));
    await removePrefix(store, prefix);
  });

  test('a blob above the copy limit is published with a multipart copy and reads back whole', async () => {
    const prefix = `bigcopy-${crypto.randomUUID()}`;
    const store = s3Store({ copyLimit: 5 * MIB }, prefix);
    const content = randomBytes(12 * MIB + 1);
    const session = await store.startUpload();
    await session.append(content);
    const digest = digestOf(content);
    expect((await session.commit(digest)).size).toBe(content.byteLength);
    expect(await bytesOf(await store.open(digest))).toEqual(content);
    expect(await store.api.listMultipart(`${prefix}/`)).toEqual([]);
    await removePrefix(store, prefix);
  });

  test('the sweep removes an abandoned session with its multipart upload, and keeps one that is still open', async () => {
    const prefix = `sweep-${crypto.randomUUID()}`;
    const store = s3Store({}, prefix);
    const abandoned = await s3Store({}, prefix).startUpload();
    await abandoned.append(randomBytes(5 * MIB + 1));
    const kept = await s3Store({}, prefix).startUpload();
    await kept.append(randomBytes(10));
    expect(await store.api.listMultipart(`${prefix}/uploads/`)).toHaveLength(1);
    expect(await store.sweep(0, (id) => id === kept.id)).toBe(1);
    expect(await store.api.listMultipart(`${prefix}/uploads/`)).toEqual([]);
    const left = await keysUnder(store, 'uploads/', prefix);
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((k) => k.includes(kept.id))).toBe(true);
    await removePrefix(store, prefix);
  });
});

describe('marina serve --blobs s3://', () => {
  const prefix = `serve-${crypto.randomUUID()}`;
  let server: ServerProcess;
  let redirecting: ServerProcess;
  let data: string;
  let data2: string;

  beforeAll(async () => {
    data = tempDir('marina-s3-serve-');
    data2 = tempDir('marina-s3-redirect-');
    const env = { AWS_ACCESS_KEY_ID: weed.accessKeyId, AWS_SECRET_ACCESS_KEY: weed.secretAccessKey, AWS_REGION: weed.region };
    const args = ['--blobs', `s3://${BUCKET}/${prefix}`, '--s3-endpoint', weed.endpoint, '--s3-part-size', '5MiB'];
    server = await startServer(data, args, env);
    redirecting = await startServer(data2, [...args, '--s3-redirect'], env);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await redirecting?.stop();
    for (const d of [data, data2]) if (d) fs.rmSync(d, { recursive: true, force: true });
    await removePrefix(s3Store({}, prefix), prefix);
  });

  test('a push with a chunked layer and a pull go through HTTP, with the blobs stored in the bucket', async () => {
    const client = new Client(fetch, server.url);
    const layer = randomBytes(7 * MIB + 99);
    const layerDigest = digestOf(layer);
    // Chunked: POST, PATCH × 3 (each under 5 MiB), PUT ?digest=.
    let location = await client.startUpload('team/app');
    for (const [start, end] of [[0, 3 * MIB], [3 * MIB, 6 * MIB], [6 * MIB, layer.byteLength]] as const) {
      const res = await client.send('PATCH', location, {
        body: layer.subarray(start, end),
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end - 1}` },
      });
      expect(res.status).toBe(202);
      location = client.url(res.headers.get('location')!);
    }
    const put = await client.send('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${layerDigest}`);
    expect(put.status).toBe(201);
    const pushed = await client.pushImage('team/app', { layers: [randomBytes(1000)], tags: ['v1'] });

    const manifest = await client.get('/v2/team/app/manifests/v1', { accept: 'application/vnd.oci.image.manifest.v1+json' });
    expect(manifest.status).toBe(200);
    expect(await bytesOf(manifest)).toEqual(pushed.bytes);
    const small = pushed.layers[0]!;
    const got = await client.get(`/v2/team/app/blobs/${small.digest}`);
    expect(got.status).toBe(200);
    // Small S3 blobs are buffered so the GET carries an exact length (Bun drops it on streamed bodies).
    expect(got.headers.get('content-length')).toBe('1000');
    expect(digestOf(await bytesOf(got))).toBe(small.digest as Digest);
    const big = await client.get(`/v2/team/app/blobs/${layerDigest}`);
    expect(big.status).toBe(200);
    // Bun 1.4.5 sends streamed bodies chunked (oven-sh/bun#10507); a length, when sent, must be exact.
    expect([null, String(layer.byteLength)]).toContain(big.headers.get('content-length'));
    expect(await bytesOf(big)).toEqual(layer);
    const head = await client.head(`/v2/team/app/blobs/${layerDigest}`);
    expect(head.headers.get('content-length')).toBe(String(layer.byteLength));
    const range = await client.get(`/v2/team/app/blobs/${layerDigest}`, { range: `bytes=${5 * MIB}-${5 * MIB + 9}` });
    expect(range.status).toBe(206);
    expect(await bytesOf(range)).toEqual(layer.subarray(5 * MIB, 5 * MIB + 10));

    const store = s3Store({}, prefix);
    expect((await store.stat(layerDigest))?.size).toBe(layer.byteLength);
    expect((await store.stat(small.digest as Digest))?.size).toBe(1000);
    // The filesystem blob directory of the data dir stays empty: the bytes went to S3.
    expect(fs.existsSync(`${data}/blobs`)).toBe(false);
  });

  test('a server whose S3 credentials are refused stops at start-up and says why', async () => {
    const dir = tempDir('marina-s3-badkey-');
    try {
      const env = { AWS_ACCESS_KEY_ID: weed.accessKeyId, AWS_SECRET_ACCESS_KEY: 'wrong-secret' };
      const error = await startServer(dir, ['--blobs', `s3://${BUCKET}/${prefix}`, '--s3-endpoint', weed.endpoint], env).then(
        async (s) => {
          await s.stop();
          return undefined;
        },
        (e: Error) => e,
      );
      expect(error?.message).toContain(`S3 blob store s3://${BUCKET}/${prefix}/ at ${weed.endpoint} is not usable`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('with --s3-redirect a blob GET answers 307 to a presigned URL that serves the bytes and ranges', async () => {
    const client = new Client(fetch, redirecting.url);
    const layer = randomBytes(200_000);
    const digest = await client.pushBlob('team/redirect', layer);
    const res = await fetch(`${redirecting.url}/v2/team/redirect/blobs/${digest}`, { redirect: 'manual' });
    expect(res.status).toBe(307);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    const location = res.headers.get('location')!;
    expect(location.startsWith(`${weed.endpoint}/${BUCKET}/${prefix}/blobs/sha256/`)).toBe(true);
    expect(location).toContain('X-Amz-Signature=');
    const direct = await fetch(location);
    expect(direct.status).toBe(200);
    expect(await bytesOf(direct)).toEqual(layer);
    const ranged = await fetch(location, { headers: { range: 'bytes=100-199' } });
    expect(ranged.status).toBe(206);
    expect(await bytesOf(ranged)).toEqual(layer.subarray(100, 200));
    // Following the redirect, as clients do, yields the blob.
    const followed = await fetch(`${redirecting.url}/v2/team/redirect/blobs/${digest}`);
    expect(followed.status).toBe(200);
    expect(digestOf(await bytesOf(followed))).toBe(digest);
    // The redirect comes after the repository check: another repository gets a 404, never a presigned URL.
    const elsewhere = await fetch(`${redirecting.url}/v2/team/other/blobs/${digest}`, { redirect: 'manual' });
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.headers.get('location')).toBeNull();
    expect(((await elsewhere.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('BLOB_UNKNOWN');
    // HEAD still answers locally with the size.
    const head = await fetch(`${redirecting.url}/v2/team/redirect/blobs/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(layer.byteLength));
  });
});

describe('pull-through mirror on S3 blobs', () => {
  const prefix = `mirror-${crypto.randomUUID()}`;
  let dist: DistributionServer;
  let server: ServerProcess;
  let data: string;

  beforeAll(async () => {
    dist = await startDistribution();
    data = tempDir('marina-s3-mirror-');
    const env = { AWS_ACCESS_KEY_ID: weed.accessKeyId, AWS_SECRET_ACCESS_KEY: weed.secretAccessKey };
    server = await startServer(data, ['--blobs', `s3://${BUCKET}/${prefix}`, '--s3-endpoint', weed.endpoint, '--mirror', `dist.test=${dist.url}`], env);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await dist?.stop();
    if (data) fs.rmSync(data, { recursive: true, force: true });
    await removePrefix(s3Store({}, prefix), prefix);
  });

  test('a cold blob is filled from upstream into S3, then served from S3 whole and by range', async () => {
    const layer = randomBytes(6 * MIB + 7);
    const digest = digestOf(layer);
    await pushImage(dist.url, 'team/app', 'v1', makeImage([layer]));
    const url = `${server.url}/v2/dist.test/team/app/blobs/${digest}`;
    const cold = await fetch(url);
    expect(cold.status).toBe(200);
    expect(await bytesOf(cold)).toEqual(layer);
    const store = s3Store({}, prefix);
    const deadline = Date.now() + 30_000;
    while (!(await store.stat(digest)) && Date.now() < deadline) await Bun.sleep(100);
    expect((await store.stat(digest))?.size).toBe(layer.byteLength);
    const warm = await fetch(url);
    expect(warm.status).toBe(200);
    expect(await bytesOf(warm)).toEqual(layer);
    const range = await fetch(url, { headers: { range: 'bytes=5242870-5242889' } });
    expect(range.status).toBe(206);
    expect(await bytesOf(range)).toEqual(layer.subarray(5242870, 5242890));
    expect(fs.existsSync(`${data}/blobs`)).toBe(false);
  });
});
