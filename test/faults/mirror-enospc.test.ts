/**
 * A full disk under the mirror's spool, for real: a `marina serve --mirror` process with its data directory on an
 * 8 MiB tmpfs (CI runs as root) and an in-process upstream elsewhere. A cold pull of a layer that does not fit is
 * answered 507 with the spec's JSON error body when no byte was sent yet, or cut off when streaming had begun (a
 * client never completes a body the mirror could not keep); no spool file stays, nothing is linked, and once space
 * is freed the same pull succeeds byte-exact.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ServerProcess } from '../helpers/server.ts';
import { startFaultProxy, type FaultProxy } from '../mirror/support/fault-proxy.ts';
import { ACCEPT_MANIFESTS, compareGet, hasBlobFile, serveRegistry, spoolFiles, until, type Served } from '../mirror/support/harness.ts';
import { pushImage, randomImage, type Image } from '../mirror/support/images.ts';
import { clientOf, expectConsistent, FaultBed, SmallDisk, kill, verifyPull } from './support.ts';

const MiB = 1024 * 1024;
const bed = new FaultBed();
const disk = new SmallDisk('marina-mirror-enospc-');
const mountPoint = disk.mountPoint;
let upstream: Served;
let proxy: FaultProxy;
let root: string;
let server: ServerProcess;

beforeAll(async () => {
  disk.mount();
  upstream = serveRegistry();
  proxy = await startFaultProxy(upstream.url);
  root = path.join(mountPoint, 'data');
  server = await bed.serve(root, {}, { args: ['--mirror', `up=${proxy.url}`] });
});

afterAll(async () => {
  await bed.cleanup();
  await proxy?.stop();
  await upstream?.close();
  disk.unmount();
});

/** Pushes a one-layer image upstream and pulls its manifest through the mirror (cheap: the layer stays cold). */
async function coldImage(repo: string, layerBytes: number): Promise<Image> {
  const image = randomImage([layerBytes], repo);
  await pushImage(upstream.url, repo, 'v1', image);
  const res = await fetch(`${server.url}/v2/up/${repo}/manifests/v1`, { headers: { accept: ACCEPT_MANIFESTS } });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  return image;
}

/** Nothing of the failed fill stays: no spool file, no blob file (so nothing can be linked to it). */
function expectNothingKept(digest: string): void {
  expect(spoolFiles(root).filter((name) => name.startsWith('fill-'))).toEqual([]);
  expect(hasBlobFile(root, digest)).toBe(false);
}

describe('a full disk under the mirror spool', () => {
  test('a cold layer larger than the free space answers 507 with the spec error body; after freeing space the pull succeeds', async () => {
    const image = await coldImage('full/before', 3 * MiB);
    const layer = image.layers[0]!;
    const free = disk.fill(1 * MiB);
    try {
      const res = await fetch(`${server.url}/v2/up/full/before/blobs/${layer.digest}`);
      const text = await res.text();
      expect(res.status).toBe(507);
      expect(res.headers.get('content-type')).toBe('application/json');
      const body = JSON.parse(text) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]!.code).toBe('UNKNOWN');
      expect(body.errors[0]!.message).toMatch(/insufficient storage/);
      expect(text).not.toContain(' at ');
      expectNothingKept(layer.digest);
    } finally {
      free();
    }
    const again = await compareGet(`${server.url}/v2/up/full/before/blobs/${layer.digest}`, layer.bytes);
    expect(again.status).toBe(200);
    expect(again.headers.get('docker-content-digest')).toBe(layer.digest);
    expect(again.equal).toBe(true);
    expect(await verifyPull(clientOf(server), 'up/full/before', 'v1')).toEqual([]);
  }, 30_000);

  test('a disk that fills while the layer streams cuts the body off short, keeps nothing, and the pull succeeds once space is freed', async () => {
    const image = await coldImage('full/during', 3 * MiB);
    const layer = image.layers[0]!;
    // Slow enough that the disk can be filled while the first client is still reading.
    proxy.faults.blobBytesPerSecond = 1 * MiB;
    let free: (() => void) | undefined;
    try {
      const res = await fetch(`${server.url}/v2/up/full/during/blobs/${layer.digest}`);
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let received = 0;
      let broken: unknown;
      let prefixMatches = true;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (!Buffer.from(value).equals(layer.bytes.subarray(received, received + value.byteLength))) prefixMatches = false;
          received += value.byteLength;
          // The first bytes are through: now the disk fills up under the running fill.
          free ??= disk.fill(0);
        }
      } catch (error) {
        broken = error;
      }
      // Cut off short, never completed: what came was the layer's own first bytes.
      expect(broken).toBeDefined();
      expect(received).toBeGreaterThan(0);
      expect(received).toBeLessThan(layer.bytes.byteLength);
      expect(prefixMatches).toBe(true);
      await until(() => spoolFiles(root).filter((name) => name.startsWith('fill-')).length === 0, 5000, 'the failed fill removing its spool file');
      expectNothingKept(layer.digest);
    } finally {
      delete proxy.faults.blobBytesPerSecond;
      free?.();
    }
    const again = await compareGet(`${server.url}/v2/up/full/during/blobs/${layer.digest}`, layer.bytes);
    expect(again.status).toBe(200);
    expect(again.equal).toBe(true);
    expect(await verifyPull(clientOf(server), 'up/full/during', 'v1')).toEqual([]);
    expect(server.stderr()).not.toMatch(/^\s+at /m);
    await kill(server);
    await expectConsistent(root);
  }, 30_000);
});
