/**
 * `marina gc` in a second process, back to back, beside a live server while clients re-push images whose old
 * manifest was deleted, reusing the old layers the way crane does (HEAD each blob, upload only what is missing, PUT
 * the manifest). Afterwards every acknowledged tag must pull completely and byte-exact. Everything is bounded in
 * time; the numbers are printed so a run can be compared with another.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { digestOf } from '../../src/oci/digest.ts';
import { tempDir } from '../helpers/registry.ts';
import { Client, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, bytesOf, randomBytes } from '../helpers/client.ts';
import { runCli, startServer, type ServerProcess } from '../helpers/server.ts';

const GRACE_S = 1;
const RACE_MS = 20_000;
const WORKERS = 16;

/** An image a client was told is stored (201 on its manifest PUT). */
interface Acknowledged {
  repository: string;
  tag: string;
  manifest: Uint8Array;
  blobs: Map<string, Uint8Array>;
}

let dir: string;
let server: ServerProcess;
let client: Client;

beforeAll(async () => {
  dir = tempDir('marina-gc-race-');
  server = await startServer(dir);
  client = new Client((request) => fetch(request), server.url);
});

afterAll(async () => {
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** HEAD each blob, upload the missing ones, PUT the manifest under `tag`; the acknowledged image or undefined. */
/** Why pushes were refused ("POST 500 UNKNOWN", "PUT 404 MANIFEST_BLOB_UNKNOWN"), with counts. */
const refusals = new Map<string, number>();

async function refused(step: string, res: Response): Promise<undefined> {
  const text = await res.text();
  const code = /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? '';
  const key = `${step} ${res.status} ${code}`;
  refusals.set(key, (refusals.get(key) ?? 0) + 1);
  return undefined;
}

async function pushReusing(repository: string, tag: string, layers: Uint8Array[]): Promise<Acknowledged | undefined> {
  const config = bytesOf({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: crypto.randomUUID() });
  const blobs = new Map<string, Uint8Array>([[digestOf(config), config], ...layers.map((l) => [digestOf(l), l] as [string, Uint8Array])]);
  for (const [digest, bytes] of blobs) {
    const head = await client.head(`/v2/${repository}/blobs/${digest}`);
    if (head.status === 200) continue;
    const put = await client.send('POST', `/v2/${repository}/blobs/uploads/?digest=${digest}`, { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    if (put.status !== 201) return refused('POST', put);
    await put.arrayBuffer();
  }
  // A client's own latency between its blob checks and its manifest PUT (crane uploads layers in parallel first).
  await sleep(Math.random() * 100);
  const manifest = bytesOf({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: digestOf(config), size: config.byteLength },
    layers: layers.map((l) => ({ mediaType: OCI_LAYER, digest: digestOf(l), size: l.byteLength })),
  });
  const res = await client.putManifest(repository, tag, manifest, OCI_MANIFEST);
  if (res.status !== 201) return refused('PUT', res);
  await res.arrayBuffer();
  return { repository, tag, manifest, blobs };
}

/** One client: per fresh repository, push an image, delete it by digest, wait past the grace, re-push its layers. */
async function worker(id: number, until: number, acknowledged: Acknowledged[], counts: { failedPushes: number }): Promise<void> {
  for (let n = 0; Date.now() < until; n++) {
    const repository = `race/w${id}-${n}`;
    const layers = [randomBytes(512 + Math.floor(Math.random() * 4096)), randomBytes(2048 + Math.floor(Math.random() * 8192)), randomBytes(1024 + Math.floor(Math.random() * 4096))];
    const old = await pushReusing(repository, 'old', layers);
    if (!old) {
      counts.failedPushes++;
      continue;
    }
    const del = await client.delete(`/v2/${repository}/manifests/${digestOf(old.manifest)}`);
    await del.arrayBuffer();
    expect(del.status).toBe(202);
    // Around the end of the grace period, when the old links become candidates for collection.
    await sleep(GRACE_S * 1000 * (0.5 + Math.random()));
    const again = await pushReusing(repository, 'new', layers);
    if (again) acknowledged.push(again);
    else counts.failedPushes++;
  }
}

/** What of an acknowledged image no longer pulls byte-exact. */
async function brokenParts(image: Acknowledged): Promise<string[]> {
  const broken: string[] = [];
  const res = await client.get(`/v2/${image.repository}/manifests/${image.tag}`, { accept: OCI_MANIFEST });
  const body = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200 || digestOf(body) !== digestOf(image.manifest)) broken.push(`manifest ${res.status}`);
  for (const [digest, bytes] of image.blobs) {
    const blob = await client.get(`/v2/${image.repository}/blobs/${digest}`);
    const got = new Uint8Array(await blob.arrayBuffer());
    if (blob.status !== 200 || got.byteLength !== bytes.byteLength || digestOf(got) !== digest) broken.push(`blob ${digest} ${blob.status}`);
  }
  return broken;
}

async function brokenImages(acknowledged: Acknowledged[]): Promise<string[]> {
  const out: string[] = [];
  for (const image of acknowledged) {
    const parts = await brokenParts(image);
    if (parts.length) out.push(`${image.repository}:${image.tag}: ${parts.join(', ')}`);
  }
  return out;
}

describe('marina gc in a second process beside a live server', () => {
  test('loses no acknowledged tag while clients re-push deleted images that reuse their old layers', async () => {
    const until = Date.now() + RACE_MS;
    const acknowledged: Acknowledged[] = [];
    const counts = { failedPushes: 0 };
    const gcRuns = { ok: 0, failed: 0, removedLinks: 0, removedFiles: 0 };
    const collect = async () => {
      while (Date.now() < until) {
        const run = await runCli(['gc', '--data', dir, '--grace', String(GRACE_S)], {}, 30_000);
        if (run.code !== 0) {
          gcRuns.failed++;
          console.error(run.stderr);
          continue;
        }
        gcRuns.ok++;
        const m = /; (\d+) links and (\d+) blobs/.exec(run.stdout);
        gcRuns.removedLinks += Number(m?.[1] ?? 0);
        gcRuns.removedFiles += Number(m?.[2] ?? 0);
      }
    };
    // Two collectors, as when one cron run overlaps the next: they race each other as well as the pushes.
    await Promise.all([...Array.from({ length: WORKERS }, (_, i) => worker(i, until, acknowledged, counts)), collect(), collect()]);

    const broken = await brokenImages(acknowledged);
    // A collection after the pushes stopped (and past the grace) must keep every acknowledged image too.
    await sleep(GRACE_S * 1000 + 1100);
    const final = await runCli(['gc', '--data', dir, '--grace', String(GRACE_S)], {}, 30_000);
    expect(final.code).toBe(0);
    const brokenAfterFinal = await brokenImages(acknowledged);
    console.log(
      `gc race: ${acknowledged.length} acknowledged tags, ${broken.length} broken during the race, ${brokenAfterFinal.length} after a final gc; ` +
        `${counts.failedPushes} pushes refused ${JSON.stringify(Object.fromEntries(refusals))}; gc ran ${gcRuns.ok} times (${gcRuns.failed} failed), removed ${gcRuns.removedLinks} links and ${gcRuns.removedFiles} files`,
    );
    expect(gcRuns.failed).toBe(0);
    expect(gcRuns.ok).toBeGreaterThan(3);
    expect(gcRuns.removedLinks).toBeGreaterThan(0);
    expect(acknowledged.length).toBeGreaterThan(30);
    expect(broken.slice(0, 10)).toEqual([]);
    expect(brokenAfterFinal.slice(0, 10)).toEqual([]);
  }, 120_000);
});
