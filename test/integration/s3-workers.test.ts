/**
 * `marina serve --workers 2 --blobs s3://…` on a real SeaweedFS: two processes on one port share the bucket, the
 * index, the upload ledger and the host locks. The official conformance suite (1.1) runs through them, and chunked
 * uploads whose PATCHes alternate between the workers complete as S3 multipart uploads with the right digest.
 * Every request here opens a new connection, so the kernel spreads them over the workers (`X-Marina-Worker`).
 * Fails (never skips) when `weed` or `conformance` is missing: `bash .ci/install-tools.sh s3 conformance`.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestOf } from '../../src/oci/digest.ts';
import { S3BlobStore } from '../../src/storage/s3-blob-store.ts';
import { Client, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import { run, TOOL_PATH } from '../support/commands.ts';
import { startSeaweedFs, type SeaweedFs } from '../support/seaweedfs.ts';

// S3 calls and two Bun processes on a busy 2-core machine: seconds per step.
setDefaultTimeout(120_000);

const BUCKET = 'marina-workers';
const MIB = 1024 * 1024;
const prefix = `workers-${crypto.randomUUID()}`;
let weed: SeaweedFs;
let server: ServerProcess;
let data: string;

/** A client whose every request opens a new connection. */
function freshConnections(): Client {
  return new Client((request) => {
    request.headers.set('connection', 'close');
    return fetch(request, { keepalive: false, signal: AbortSignal.timeout(30_000) });
  }, server.url);
}

const workerOf = (res: Response) => res.headers.get('x-marina-worker');

/** The store the servers use, for looking into the bucket. */
function bucket(): S3BlobStore {
  return new S3BlobStore({ bucket: BUCKET, prefix, endpoint: weed.endpoint, region: weed.region, accessKeyId: weed.accessKeyId, secretAccessKey: weed.secretAccessKey });
}

beforeAll(async () => {
  weed = await startSeaweedFs();
  await weed.createBucket(BUCKET);
  data = tempDir('marina-s3-workers-');
  const env = { AWS_ACCESS_KEY_ID: weed.accessKeyId, AWS_SECRET_ACCESS_KEY: weed.secretAccessKey, AWS_REGION: weed.region };
  server = await startServer(data, ['--workers', '2', '--blobs', `s3://${BUCKET}/${prefix}`, '--s3-endpoint', weed.endpoint, '--s3-part-size', '5MiB'], env, 30_000);
  const deadline = Date.now() + 30_000;
  while (!/worker ready worker=1/.test(server.stderr())) {
    if (Date.now() > deadline) throw new Error(`the second worker did not start:\n${server.stderr()}`);
    await Bun.sleep(50);
  }
}, 180_000);

afterAll(async () => {
  await server?.stop('SIGTERM', 20_000);
  await weed?.stop();
  if (data) fs.rmSync(data, { recursive: true, force: true });
});

describe('serve --workers 2 with S3 blobs', () => {
  test('starts both workers on one port and says where the blobs are', () => {
    expect(server.startupLine).toContain('workers=2');
    expect(server.startupLine).toContain(`blobs=s3://${BUCKET}/${prefix}`);
  });

  test('a chunked upload of 12 MiB whose PATCHes are spread over both workers completes as one multipart upload', async () => {
    const client = freshConnections();
    const layer = randomBytes(12 * MIB + 321);
    const digest = digestOf(layer);
    let location = await client.startUpload('spread/s3');
    const patchedBy: (string | null)[] = [];
    let offset = 0;
    // Chunks under the 5 MiB part size: parts fill from bytes staged by the other worker.
    for (let i = 0; offset < layer.byteLength; i++) {
      const end = Math.min(layer.byteLength, offset + MIB + i * 1000);
      const res = await client.send('PATCH', location, {
        body: layer.subarray(offset, end),
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${end - 1}` },
      });
      expect(res.status).toBe(202);
      expect(res.headers.get('range')).toBe(`0-${end - 1}`);
      patchedBy.push(workerOf(res));
      offset = end;
      location = client.url(res.headers.get('location')!);
    }
    // The kernel spreads new connections: with twelve PATCHes both workers take part (all on one: p ≈ 1/2048).
    expect(new Set(patchedBy).size).toBe(2);
    const status = await client.get(location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${layer.byteLength - 1}`);
    const put = await client.send('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`);
    expect(put.status).toBe(201);
    for (let i = 0; i < 4; i++) {
      const got = await client.get(`/v2/spread/s3/blobs/${digest}`);
      expect(got.status).toBe(200);
      expect(digestOf(new Uint8Array(await got.arrayBuffer()))).toBe(digest);
    }
    expect((await bucket().stat(digest))?.size).toBe(layer.byteLength);
    // The session left nothing behind in the bucket, and the data directory holds no blob files.
    const left: string[] = [];
    for await (const o of bucket().api.list(`${prefix}/uploads/`)) left.push(o.key);
    expect(left).toEqual([]);
    expect(fs.existsSync(path.join(data, 'blobs'))).toBe(false);
  });

  test('images pushed through one worker are pulled through both, manifests and blobs', async () => {
    const client = freshConnections();
    const pushed = await client.pushImage('spread/image', { layers: [randomBytes(1000), randomBytes(300_000)], tags: ['v1'] });
    const answeredBy = new Set<string | null>();
    for (let i = 0; i < 40 && answeredBy.size < 2; i++) {
      const manifest = await client.get('/v2/spread/image/manifests/v1', { accept: 'application/vnd.oci.image.manifest.v1+json' });
      expect(manifest.status).toBe(200);
      expect(digestOf(new Uint8Array(await manifest.arrayBuffer()))).toBe(pushed.digest);
      const layer = pushed.layers[i % 2]!;
      const blob = await client.get(`/v2/spread/image/blobs/${layer.digest}`);
      expect(blob.status).toBe(200);
      expect(digestOf(new Uint8Array(await blob.arrayBuffer())) as string).toBe(layer.digest);
      answeredBy.add(workerOf(manifest)).add(workerOf(blob));
    }
    expect(answeredBy.size).toBe(2);
  });

  test('the official conformance suite (OCI 1.1) passes against serve --workers 2 on S3 blobs', async () => {
    const conformance = Bun.which('conformance', { PATH: TOOL_PATH });
    if (!conformance) throw new Error(`'conformance' is not installed (searched ${TOOL_PATH}); run: bash .ci/install-tools.sh conformance`);
    const dir = tempDir('marina-s3-conformance-');
    try {
      const env: Record<string, string> = {
        OCI_REGISTRY: server.url.replace('http://', ''), OCI_TLS: 'disabled', OCI_VERSION: '1.1', OCI_RESULTS_DIR: dir,
        OCI_REPO1: 'conformance/repo1', OCI_REPO2: 'conformance/repo2',
        OCI_API_PULL: 'true', OCI_API_PUSH: 'true', OCI_API_PING: 'true',
        OCI_API_BLOBS_ATOMIC: 'true', OCI_API_BLOBS_DELETE: 'true', OCI_API_BLOBS_DIGEST_HEADER: 'true',
        OCI_API_BLOBS_MOUNT_ANONYMOUS: 'true', OCI_API_BLOBS_UPLOAD_CANCEL: 'true',
        OCI_API_MANIFESTS_ATOMIC: 'true', OCI_API_MANIFESTS_DELETE: 'true', OCI_API_MANIFESTS_DIGEST_HEADER: 'true',
        OCI_API_MANIFESTS_TAG_PARAM: 'true', OCI_API_TAGS_ATOMIC: 'true', OCI_API_TAGS_DELETE: 'true', OCI_API_TAGS_LIST: 'true',
        OCI_API_REFERRER: 'true', OCI_DATA_SPARSE: 'false',
      };
      const result = await run([conformance], { cwd: dir, env, timeoutMs: 110_000, allowFailure: true });
      const results = fs.existsSync(path.join(dir, 'results.yaml')) ? fs.readFileSync(path.join(dir, 'results.yaml'), 'utf8') : '';
      const apis = results.slice(results.indexOf('apis:'));
      const bad = apis.split('\n').filter((l) => /: (FAIL|Error|Skip|Disabled|Unknown)$/.test(l) && l.trim() !== 'Sparse Manifests: Disabled');
      const junit = fs.existsSync(path.join(dir, 'junit.xml')) ? fs.readFileSync(path.join(dir, 'junit.xml'), 'utf8') : '';
      // The suite's own words for its first failures, so a red run explains itself.
      const failures = [...junit.matchAll(/status="failure">\s*<system-out>([^<]{0,300})/g)].slice(0, 5).map((m) => m[1]);
      expect({ code: result.code, bad, failures, pass: result.stdout.includes('OCI Conformance Result: Pass') }).toEqual({ code: 0, bad: [], failures: [], pass: true });
      expect(apis).toContain('apis:');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
