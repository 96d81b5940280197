/**
 * Races on one real server: 50 clients putting one blob, 50 putting one tag, and clients deleting a shared blob in
 * their own repositories while others push it. Every 201 is honoured and `marina fsck` finds the store consistent.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { digestOf } from '../../src/oci/digest.ts';
import { OCI_MANIFEST, randomBytes } from '../helpers/client.ts';
import type { ServerProcess } from '../helpers/server.ts';
import { clientOf, expectConsistent, FaultBed, kill, listTags, makeImage, pushImage, statusOf, verifyPull } from './support.ts';

const CLIENTS = 50;
const bed = new FaultBed();
let root: string;
let server: ServerProcess;

beforeAll(async () => {
  root = bed.dir();
  server = await bed.serve(root);
});
afterAll(() => bed.cleanup());

describe('50 concurrent clients', () => {
  test('putting one blob, monolithic and chunked at once, all get 201 and the blob is stored once, byte-exact', async () => {
    const c = clientOf(server);
    const blob = randomBytes(256 * 1024);
    const digest = digestOf(blob);
    const statuses = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        if (i % 2 === 0) return statusOf(c, 'POST', `/v2/race/blob/blobs/uploads/?digest=${digest}`, blob);
        const location = await c.startUpload('race/blob');
        const patch = await statusOf(c, 'PATCH', location, blob, { 'content-range': `0-${blob.byteLength - 1}` });
        return patch === 202 ? statusOf(c, 'PUT', `${location}?digest=${digest}`) : patch;
      }),
    );
    expect(statuses).toEqual(Array(CLIENTS).fill(201));
    const res = await c.get(`/v2/race/blob/blobs/${digest}`);
    expect(digestOf(new Uint8Array(await res.arrayBuffer()))).toBe(digest);
  }, 30_000);

  test('putting different manifests under one tag all get 201, and the tag names one of them, each still pullable by digest', async () => {
    const c = clientOf(server);
    const layer = randomBytes(4096);
    const images = Array.from({ length: CLIENTS }, () => makeImage([layer]));
    expect(await pushImage(c, 'race/tag', 'first', images[0]!)).toBe(201);
    const statuses = await Promise.all(images.map((image) => pushImage(c, 'race/tag', 'latest', image)));
    expect(statuses).toEqual(Array(CLIENTS).fill(201));
    const head = await c.head('/v2/race/tag/manifests/latest');
    expect(images.map((i) => i.digest)).toContain(head.headers.get('docker-content-digest') as never);
    expect(await verifyPull(c, 'race/tag', 'latest')).toEqual([]);
    for (const image of images) expect((await c.head(`/v2/race/tag/manifests/${image.digest}`)).status).toBe(200);
    expect(await listTags(c, 'race/tag')).toEqual(['first', 'latest']);
  }, 30_000);

  test('deleting a shared blob in their own repositories while others push images with it loses no acknowledged image', async () => {
    const c = clientOf(server);
    const shared = randomBytes(64 * 1024);
    const sharedDigest = digestOf(shared);
    const acknowledged: string[] = [];
    const rounds = 4;
    const pushers = Array.from({ length: CLIENTS / 2 }, async (_, i) => {
      for (let n = 0; n < rounds; n++) {
        const tag = `p${i}-${n}`;
        const status = await pushImage(c, 'race/keep', tag, makeImage([shared, randomBytes(1024)]));
        expect(status).toBe(201);
        acknowledged.push(tag);
      }
    });
    const churners = Array.from({ length: CLIENTS / 2 }, async (_, i) => {
      const repo = `race/churn-${i}`;
      for (let n = 0; n < rounds; n++) {
        const image = makeImage([shared, randomBytes(1024)]);
        expect(await pushImage(c, repo, 'x', image)).toBe(201);
        expect(await statusOf(c, 'DELETE', `/v2/${repo}/manifests/${image.digest}`)).toBe(202);
        for (const blob of [image.config, ...image.layers]) expect(await statusOf(c, 'DELETE', `/v2/${repo}/blobs/${digestOf(blob)}`)).toBe(202);
      }
    });
    await Promise.all([...pushers, ...churners]);

    expect(acknowledged).toHaveLength((CLIENTS / 2) * rounds);
    const problems: string[] = [];
    for (const tag of acknowledged) problems.push(...(await verifyPull(c, 'race/keep', tag)));
    expect(problems).toEqual([]);
    expect((await c.head(`/v2/race/churn-0/blobs/${sharedDigest}`)).status).toBe(404);
    expect((await c.head(`/v2/race/keep/blobs/${sharedDigest}`)).status).toBe(200);
    // The churn repositories no longer hold the blob: a manifest naming it there is refused (status per item 7).
    const refused = await c.putManifest('race/churn-0', 'y', makeImage([shared]).manifest, OCI_MANIFEST);
    expect(((await refused.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('MANIFEST_BLOB_UNKNOWN');
  }, 60_000);

  test('leave a data directory that marina fsck finds consistent', async () => {
    await kill(server);
    const report = await expectConsistent(root);
    expect(report).toContain('errors: none');
  }, 30_000);
});
