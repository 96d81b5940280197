/**
 * Eight crane processes at once against one Marina: each pushes an image whose first two layers (one of 16 MiB)
 * are shared with all the others, so the same blobs are uploaded eight times concurrently — half into one
 * repository (different tags), half into repositories of their own. Then all eight pull at once. Every manifest
 * and blob digest must check out, on the registry and in what the clients wrote.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSharedLayerImages, MEDIA, type SharedLayerImage } from '../fixtures/make-images.ts';
import { getBlob, getManifest, readLayoutBlob, readLayoutIndex, removeTempDirs, run, sha256, startMarina, tempDir, tool, HOOK_TIMEOUT_MS, type Marina } from './harness.ts';

const CLIENTS = 8;

let marina: Marina;
let work: string;
let images: SharedLayerImage[];

beforeAll(async () => {
  work = tempDir('concurrency');
  images = makeSharedLayerImages(path.join(work, 'layouts'), CLIENTS);
  marina = await startMarina({ logLevel: 'debug' });
}, HOOK_TIMEOUT_MS);

afterAll(async () => {
  await marina?.stop();
  removeTempDirs();
}, HOOK_TIMEOUT_MS);

/** Where image i goes: the first half share one repository, the rest have their own. */
function target(i: number): { repository: string; tag: string } {
  return i < CLIENTS / 2 ? { repository: 'concurrent/shared', tag: `t${i}` } : { repository: `concurrent/own-${i}`, tag: 'v1' };
}

function crane(args: string[]) {
  return run([tool('crane'), ...args, '--insecure'], { env: { HOME: work, DOCKER_CONFIG: work }, timeoutMs: 150_000 });
}

describe('concurrent clients', () => {
  test(`${CLIENTS} crane pushes of images sharing layers, at once`, async () => {
    const shared = images[0]!.layers.slice(0, 2);
    for (const image of images) expect(image.layers.slice(0, 2).map((l) => l.digest)).toEqual(shared.map((l) => l.digest));

    const started = performance.now();
    const results = await Promise.all(images.map((image, i) => crane(['push', image.layout, `${marina.host}/${target(i).repository}:${target(i).tag}`])));
    await Bun.sleep(100);
    const sessions = marina.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/blobs/uploads/') && r.status === 202).length;
    const distinct = new Set(images.flatMap((im) => [im.config, ...im.layers].map((d) => d.digest))).size;
    // Informational: how often the same blob was in flight more than once (it varies with scheduling).
    console.log(`${CLIENTS} concurrent pushes took ${((performance.now() - started) / 1000).toFixed(1)} s; ${sessions} upload sessions for ${distinct} distinct blobs`);

    for (const [i, image] of images.entries()) {
      const { repository, tag } = target(i);
      expect(results[i]!.stdout.trim()).toBe(`${marina.host}/${repository}@${image.manifest.digest}`);
      const served = await getManifest(marina, repository, tag);
      expect(served.digest).toBe(image.manifest.digest);
      expect(served.contentType).toBe(MEDIA.ociManifest);
      for (const d of [image.config, ...image.layers]) {
        const head = await marina.fetch(`/v2/${repository}/blobs/${d.digest}`, { method: 'HEAD' });
        expect(head.status).toBe(200);
        expect(head.headers.get('content-length')).toBe(String(d.size));
        expect(head.headers.get('docker-content-digest')).toBe(d.digest);
      }
      // getBlob checks the bytes hash to the digest.
      for (const d of [image.config, image.layers[2]!]) await getBlob(marina, repository, d.digest);
    }
    for (const layer of shared) await getBlob(marina, 'concurrent/shared', layer.digest);

    const tags = (await (await marina.fetch('/v2/concurrent/shared/tags/list')).json()) as { tags: string[] };
    expect(tags.tags).toEqual(Array.from({ length: CLIENTS / 2 }, (_, i) => `t${i}`));

    // No upload session is left half-done on disk.
    const uploads = path.join(marina.dataDir, 'uploads');
    if (fs.existsSync(uploads)) expect(fs.readdirSync(uploads)).toEqual([]);
  }, 180_000);

  test(`${CLIENTS} crane pulls at once get every byte right`, async () => {
    const outs = images.map((_, i) => path.join(work, `pulled-${i}`));
    const started = performance.now();
    await Promise.all(images.map((_, i) => crane(['pull', '--format', 'oci', `${marina.host}/${target(i).repository}:${target(i).tag}`, outs[i]!])));
    console.log(`${CLIENTS} concurrent pulls took ${((performance.now() - started) / 1000).toFixed(1)} s`);

    for (const [i, image] of images.entries()) {
      expect(readLayoutIndex(outs[i]!).manifests.map((m) => m.digest)).toEqual([image.manifest.digest]);
      for (const d of [image.manifest, image.config, ...image.layers]) {
        const bytes = readLayoutBlob(outs[i]!, d.digest);
        expect(bytes.byteLength).toBe(d.size);
        expect(sha256(bytes)).toBe(d.digest);
      }
      expect(sha256(readLayoutBlob(outs[i]!, image.manifest.digest))).toBe(sha256(readLayoutBlob(image.layout, image.manifest.digest)));
    }
  }, 180_000);

  test('the registry logged no unexpected errors', () => {
    expect(marina.errors()).toEqual([]);
  });
});
