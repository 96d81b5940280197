/**
 * SIGKILL during a mirror publish (MARINA_CRASH_AT, see src/crash-points.ts): a real `marina serve --mirror` process,
 * fsync on, dies while a cold pull commits a layer (spool verified, before the rename, before the link, right after
 * the link) or adopts a manifest (inside its index transaction). The client never receives a complete body; after a restart on the same
 * data directory the spool sweep has removed the leftover, `marina fsck` finds the store consistent, and the next
 * pull through the mirror is byte-exact under the right digest.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SqliteMirrorLedger } from '../../src/mirror/ledger.ts';
import type { ServerProcess } from '../helpers/server.ts';
import { startFaultProxy, type FaultProxy } from '../mirror/support/fault-proxy.ts';
import { ACCEPT_MANIFESTS, compareGet, hasBlobFile, serveRegistry, spoolFiles, type Served } from '../mirror/support/harness.ts';
import { pushImage, randomImage, type Image } from '../mirror/support/images.ts';
import { clientOf, died, expectConsistent, FaultBed, kill, verifyPull } from './support.ts';

const MiB = 1024 * 1024;
const REPO = 'team/app';
const MIRRORED = `up/${REPO}`;
const bed = new FaultBed();
let upstream: Served;
let proxy: FaultProxy;
let image: Image;

beforeAll(async () => {
  upstream = serveRegistry();
  proxy = await startFaultProxy(upstream.url);
  image = randomImage([2 * MiB + 123], 'mirror-crash');
  await pushImage(upstream.url, REPO, 'v1', image);
});

afterAll(async () => {
  await bed.cleanup();
  await proxy.stop();
  await upstream.close();
});

function serveMirror(root: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  return bed.serve(root, env, { args: ['--mirror', `up=${proxy.url}`] });
}

/** The fill spool files in a data directory (named `fill-<pid>-…`, see src/mirror/spool.ts). */
function fills(root: string): string[] {
  return spoolFiles(root).filter((name) => name.startsWith('fill-'));
}

/** A GET the server may die during: the body as far as it came (a refused connection counts as nothing). */
async function getDuringCrash(url: string, expected: Uint8Array, init?: RequestInit): Promise<{ equal: boolean; bytes: number }> {
  return compareGet(url, expected, init).catch(() => ({ equal: false, bytes: 0 }));
}

/** Bytes the mirror's ledger accounts for (what eviction can reclaim). */
function cachedBytes(root: string): number {
  const ledger = new SqliteMirrorLedger(path.join(root, 'mirror.sqlite'));
  try {
    return ledger.totalBytes();
  } finally {
    ledger.close();
  }
}

/** `marina fsck` finds `root` consistent, with no partial file left in uploads/ and no spool file; its report. */
async function expectCleanRestart(root: string): Promise<string> {
  const report = await expectConsistent(root);
  expect(report).not.toContain('partial-file');
  expect(fills(root)).toEqual([]);
  return report;
}

describe('SIGKILL during a mirror publish', () => {
  const layer = () => image.layers[0]!;

  for (const point of ['mirror-fill-before-publish', 'blob-before-rename', 'blob-before-link', 'mirror-fill-after-link'] as const) {
    test(`at ${point}: the client gets no complete body, the restart sweeps the spool, fsck is clean, the next pull is byte-exact and the cache accounts for it`, async () => {
      const root = bed.dir('marina-mirror-crash-');
      let server = await serveMirror(root, { MARINA_CRASH_AT: point });
      // The manifest is adopted first (no blob commit, so no crash yet): the crash comes with the layer's fill.
      const manifest = await fetch(`${server.url}/v2/${MIRRORED}/manifests/v1`, { headers: { accept: ACCEPT_MANIFESTS } });
      expect(manifest.status).toBe(200);
      await manifest.arrayBuffer();
      const cut = await getDuringCrash(`${server.url}/v2/${MIRRORED}/blobs/${layer().digest}`, layer().bytes);
      // The fill holds back the blob's last byte until it is committed: a crash before that cuts the body.
      expect(cut.equal).toBe(false);
      expect(cut.bytes).toBeLessThan(layer().bytes.byteLength);
      expect(await died(server)).toBe('SIGKILL');

      // The crash happened where it was asked to: the verified bytes are in the spool, or renamed but not linked.
      if (point === 'blob-before-link' || point === 'mirror-fill-after-link') {
        expect(fills(root)).toEqual([]);
        expect(hasBlobFile(root, layer().digest)).toBe(true);
      } else {
        expect(fills(root)).toHaveLength(1);
        expect(fs.statSync(path.join(root, 'uploads', fills(root)[0]!)).size).toBe(layer().bytes.byteLength);
        expect(hasBlobFile(root, layer().digest)).toBe(false);
      }
      await expectConsistent(root);

      server = await serveMirror(root);
      // The start-up sweep removed the dead process's spool file before any request.
      expect(fills(root)).toEqual([]);
      const again = await compareGet(`${server.url}/v2/${MIRRORED}/blobs/${layer().digest}`, layer().bytes);
      expect(again.status).toBe(200);
      expect(again.headers.get('docker-content-digest')).toBe(layer().digest);
      expect(again.equal).toBe(true);
      expect(await verifyPull(clientOf(server), MIRRORED, 'v1')).toEqual([]);
      await kill(server);
      const report = await expectCleanRestart(root);
      // Nothing the crash left stays unlinked: the layer (and the config) are linked in the mirrored repository.
      expect(report).not.toContain('orphan-blob');
      // ...and the cache accounts for every byte it holds, so eviction can still reclaim the layer.
      expect(cachedBytes(root)).toBe(image.size);
    }, 30_000);
  }

  test('inside the adopted manifest\'s transaction: the tag is absent after restart, fsck is clean, and the next pull is byte-exact', async () => {
    const root = bed.dir('marina-mirror-crash-');
    let server = await serveMirror(root, { MARINA_CRASH_AT: 'manifest-in-transaction' });
    const cut = await getDuringCrash(`${server.url}/v2/${MIRRORED}/manifests/v1`, image.manifest, { headers: { accept: ACCEPT_MANIFESTS } });
    expect(cut.equal).toBe(false);
    expect(await died(server)).toBe('SIGKILL');
    await expectConsistent(root);

    server = await serveMirror(root);
    // The upstream cannot answer now: only what the crashed process committed could be served, and it committed
    // nothing, so the tag is unknown rather than half-written.
    await proxy.kill();
    try {
      const offline = await fetch(`${server.url}/v2/${MIRRORED}/manifests/v1`, { headers: { accept: ACCEPT_MANIFESTS } });
      await offline.arrayBuffer();
      expect(offline.status).toBe(503);
    } finally {
      await proxy.revive();
    }
    const manifest = await compareGet(`${server.url}/v2/${MIRRORED}/manifests/v1`, image.manifest, { headers: { accept: ACCEPT_MANIFESTS } });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(image.digest);
    expect(manifest.equal).toBe(true);
    expect(await verifyPull(clientOf(server), MIRRORED, 'v1')).toEqual([]);
    await kill(server);
    await expectCleanRestart(root);
  }, 30_000);

  test('a fill whose bytes do not match the digest never reaches the publish point: nothing is stored and the next pull is byte-exact', async () => {
    const root = bed.dir('marina-mirror-crash-');
    const server = await serveMirror(root, { MARINA_CRASH_AT: 'mirror-fill-before-publish' });
    proxy.faults.corruptBlob = layer().digest;
    try {
      const bad = await compareGet(`${server.url}/v2/${MIRRORED}/blobs/${layer().digest}`, layer().bytes);
      expect(bad.equal).toBe(false);
      expect(bad.bytes).toBeLessThan(layer().bytes.byteLength);
    } finally {
      delete proxy.faults.corruptBlob;
    }
    // Still alive: the digest check refused the bytes before the crash point.
    expect(server.proc.exitCode).toBeNull();
    expect(server.proc.signalCode).toBeNull();
    expect(hasBlobFile(root, layer().digest)).toBe(false);
    expect(fills(root)).toEqual([]);
    await kill(server);
    await expectCleanRestart(root);
  }, 30_000);
});
