/**
 * Sustained big pushes with blobs in S3 (a real SeaweedFS, as the benchmark runs it): back-to-back 64 MiB pushes,
 * monolithic and chunked, one and four at once, each pushed blob then deleted as the benchmark does. Each push
 * writes its parts, a copy, and deletes its staging object (bytes SeaweedFS keeps until it vacuums), so the store
 * must have room to grow; a store that is full must answer a clear spec error at once, not a bare 500 or a hang.
 * Fails (never skips) when `weed` is missing: `bash .ci/install-tools.sh s3`.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import * as fs from 'node:fs';
import { digestOf, type Digest } from '../../src/oci/digest.ts';
import { Client, expectError, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import { startSeaweedFs, type SeaweedFs } from '../support/seaweedfs.ts';

// 64 MiB bodies through Marina and SeaweedFS on a busy 2-core machine: seconds per push.
setDefaultTimeout(120_000);

const BUCKET = 'marina-push';
const MIB = 1024 * 1024;
const SIZE = 64 * MIB;
const CHUNK = 8 * MIB;
const REPO = 'big/pushes';
const dirs: string[] = [];
let weed: SeaweedFs;
let full: SeaweedFs;
let server: ServerProcess;
let onFull: ServerProcess;
let client: Client;

/** `marina serve --blobs s3://…` on a SeaweedFS. */
async function serveOn(store: SeaweedFs): Promise<ServerProcess> {
  const data = tempDir('marina-s3-push-');
  dirs.push(data);
  const env = { AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey, AWS_REGION: store.region };
  return startServer(data, ['--blobs', `s3://${BUCKET}/push`, '--s3-endpoint', store.endpoint], env, 30_000);
}

const fetchWithin = (ms: number) => (request: Request) => fetch(request, { signal: AbortSignal.timeout(ms) });

beforeAll(async () => {
  [weed, full] = await Promise.all([startSeaweedFs(), startSeaweedFs({ maxVolumes: 1 })]);
  await weed.createBucket(BUCKET);
  await full.createBucket(BUCKET);
  [server, onFull] = await Promise.all([serveOn(weed), serveOn(full)]);
  client = new Client(fetchWithin(60_000), server.url);
}, 180_000);

afterAll(async () => {
  await Promise.allSettled([server?.stop(), onFull?.stop()]);
  await Promise.allSettled([weed?.stop(), full?.stop()]);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** 64 MiB nobody pushed before (a random run repeated, with a unique head). */
function bigBlob(): Uint8Array {
  const bytes = new Uint8Array(SIZE);
  const run = randomBytes(MIB);
  for (let at = 0; at < SIZE; at += MIB) bytes.set(run, at);
  bytes.set(randomBytes(64));
  return bytes;
}

/** An upload URL with `digest=` added (the closing PUT). */
function withDigest(location: string, digest: Digest): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`;
}

/** POST, then one PUT with the whole body. */
async function pushMonolithic(bytes: Uint8Array, digest: Digest): Promise<Response> {
  const location = await client.startUpload(REPO);
  return client.send('PUT', withDigest(location, digest), { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
}

/** POST, 8 MiB PATCHes with Content-Range, an empty PUT. */
async function pushChunked(bytes: Uint8Array, digest: Digest): Promise<Response> {
  let location = await client.startUpload(REPO);
  for (let at = 0; at < bytes.byteLength; at += CHUNK) {
    const res = await client.send('PATCH', location, {
      body: bytes.subarray(at, at + CHUNK),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${at}-${at + CHUNK - 1}` },
    });
    expect({ status: res.status, body: await res.text() }).toEqual({ status: 202, body: '' });
    location = client.url(res.headers.get('location')!);
  }
  return client.send('PUT', withDigest(location, digest));
}

/** One push; asserts it was stored under its digest (read back whole), then deletes the blob as the benchmark does. */
async function pushAndCheck(mode: 'monolithic' | 'chunked'): Promise<void> {
  const bytes = bigBlob();
  const digest = digestOf(bytes);
  const res = await (mode === 'monolithic' ? pushMonolithic(bytes, digest) : pushChunked(bytes, digest));
  expect({ mode, status: res.status, body: await res.text(), digest: res.headers.get('docker-content-digest') }).toEqual({ mode, status: 201, body: '', digest });
  const get = await client.get(`/v2/${REPO}/blobs/${digest}`);
  expect(get.status).toBe(200);
  const hasher = new Bun.CryptoHasher('sha256');
  let size = 0;
  for await (const chunk of get.body!) {
    hasher.update(chunk);
    size += chunk.byteLength;
  }
  expect({ size, digest: `sha256:${hasher.digest('hex')}` }).toEqual({ size: SIZE, digest });
  const deleted = await client.delete(`/v2/${REPO}/blobs/${digest}`);
  expect(deleted.status).toBe(202);
}

describe('64 MiB pushes on S3 (SeaweedFS)', () => {
  // 16 pushes, 2 GiB of parts and copies: twice the 1 GiB of volumes the SeaweedFS set-up used to allow.
  test('back-to-back monolithic and chunked pushes, one and four at once, are each stored under their digest', async () => {
    const failures: string[] = [];
    const run = (mode: 'monolithic' | 'chunked') => pushAndCheck(mode).catch((e: Error) => void failures.push(`${mode}: ${e.message.slice(0, 400)}`));
    for (let i = 0; i < 4; i++) await run('monolithic');
    for (let i = 0; i < 4; i++) await run('chunked');
    await Promise.all([0, 1, 2, 3].map(() => run('monolithic')));
    await Promise.all([0, 1, 2, 3].map(() => run('chunked')));
    const refused = server.stderr().split('\n').filter((l) => /ERROR|WARN/.test(l)).slice(0, 3);
    expect({ failures, refused }).toEqual({ failures: [], refused: [] });
  });

  test('a full object store answers 507 or 503 with the spec error body at once, and the registry keeps serving', async () => {
    const onFullClient = new Client(fetchWithin(60_000), onFull.url);
    // At most one 64 MB volume: a 64 MiB push (its parts, then its copy) cannot fit.
    let refused: Response | undefined;
    for (let i = 0; i < 3 && !refused; i++) {
      const bytes = bigBlob();
      const started = Date.now();
      const location = await onFullClient.send('POST', `/v2/${REPO}/blobs/uploads/`);
      let res = location;
      if (location.status === 202) {
        res = await onFullClient.send('PUT', withDigest(onFullClient.url(location.headers.get('location')!), digestOf(bytes)), { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
      }
      expect(Date.now() - started).toBeLessThan(45_000);
      if (res.status !== 201 && res.status !== 202) refused = res;
      else await res.body?.cancel();
    }
    expect(refused).toBeDefined();
    expect([503, 507]).toContain(refused!.status);
    const error = await expectError(refused!, refused!.status, 'UNKNOWN');
    expect(error.message).toContain('object storage (S3)');
    expect(error.message).toContain('nothing was stored');
    expect(error.detail.reason).toMatch(/^object storage (full|unavailable)$/);
    if (refused!.status === 503) expect(refused!.headers.get('retry-after')).toBe('10');
    // Still answering: the refusal is per request, not a wedged server.
    const ping = await onFullClient.get('/v2/');
    expect(ping.status).toBe(200);
  });
});
