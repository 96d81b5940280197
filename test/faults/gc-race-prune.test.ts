/**
 * `marina cache prune` in a second process, back to back, beside a live mirror whose clients pull mirrored images
 * and push local images made of the same layers (so mirrored and local repositories share blob files). Prune
 * evicts every cached image each time and deletes the files no repository links; afterwards every acknowledged
 * local image must pull completely and byte-exact. Bounded in time; the numbers are printed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { digestOf } from '../../src/oci/digest.ts';
import { bytesOf, Client, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { type Acknowledged, brokenImages } from '../helpers/repush-race.ts';
import { runCli, startServer, type ServerProcess } from '../helpers/server.ts';

const RACE_MS = 15_000;
const IMAGES = 160;

let upstreamDir: string;
let mirrorDir: string;
let upstream: ServerProcess;
let mirror: ServerProcess;
let client: Client;
/** The upstream's images: repository → layers. */
const images = new Map<string, Uint8Array[]>();

beforeAll(async () => {
  upstreamDir = tempDir('marina-prune-upstream-');
  mirrorDir = tempDir('marina-prune-mirror-');
  upstream = await startServer(upstreamDir);
  const up = new Client((request) => fetch(request), upstream.url);
  await Promise.all(
    Array.from({ length: 8 }, async (_, worker) => {
      for (let i = worker; i < IMAGES; i += 8) {
        const layers = [randomBytes(4096 + i * 97), randomBytes(1024 + i * 31)];
        await up.pushImage(`lib/img${i}`, { reference: 'v1', layers });
        images.set(`lib/img${i}`, layers);
      }
    }),
  );
  mirror = await startServer(mirrorDir, ['--mirror', `up=${upstream.url}`]);
  client = new Client((request) => fetch(request), mirror.url);
});

afterAll(async () => {
  await mirror?.stop();
  await upstream?.stop();
  for (const dir of [upstreamDir, mirrorDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Pulls a mirrored image whole (which caches it and links its blobs in the mirrored repository); true when complete. */
async function pullMirrored(repository: string): Promise<boolean> {
  const res = await client.get(`/v2/up/${repository}/manifests/v1`, { accept: OCI_MANIFEST });
  if (res.status !== 200) {
    await res.arrayBuffer();
    return false;
  }
  const manifest = (await res.json()) as { config: { digest: string }; layers: { digest: string }[] };
  let complete = true;
  for (const { digest } of [manifest.config, ...manifest.layers]) {
    const blob = await client.get(`/v2/up/${repository}/blobs/${digest}`);
    // Mirrored content may be evicted under a reader (its body then breaks off): counted, not a failure.
    const bytes = await blob.arrayBuffer().then((b) => new Uint8Array(b), () => new Uint8Array());
    if (blob.status !== 200 || digestOf(bytes) !== digest) complete = false;
  }
  return complete;
}

/** Pushes a local image made of a mirrored image's layers (HEAD, upload what is missing, PUT). */
async function pushLocal(repository: string, layers: Uint8Array[], refusals: Map<string, number>): Promise<Acknowledged | undefined> {
  const config = bytesOf({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: crypto.randomUUID() });
  const blobs = new Map<string, Uint8Array>([[digestOf(config), config], ...layers.map((l) => [digestOf(l), l] as [string, Uint8Array])]);
  const refuse = async (step: string, res: Response) => {
    const key = `${step} ${res.status} ${/"code":"([A-Z_]+)"/.exec(await res.text())?.[1] ?? ''}`;
    refusals.set(key, (refusals.get(key) ?? 0) + 1);
    return undefined;
  };
  for (const [digest, bytes] of blobs) {
    const head = await client.head(`/v2/${repository}/blobs/${digest}`);
    if (head.status === 200) continue;
    const put = await client.send('POST', `/v2/${repository}/blobs/uploads/?digest=${digest}`, { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    if (put.status !== 201) return refuse('POST', put);
    await put.arrayBuffer();
  }
  const manifest = bytesOf({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: digestOf(config), size: config.byteLength },
    layers: layers.map((l) => ({ mediaType: OCI_LAYER, digest: digestOf(l), size: l.byteLength })),
  });
  const res = await client.putManifest(repository, 'v1', manifest, OCI_MANIFEST);
  if (res.status !== 201) return refuse('PUT', res);
  await res.arrayBuffer();
  return { repository, tag: 'v1', manifest, blobs };
}

describe('marina cache prune in a second process beside a live mirror', () => {
  test('loses no acknowledged local image whose layers the evicted mirrored images share, and never fails beside the server', async () => {
    const until = Date.now() + RACE_MS;
    const names = [...images.keys()];
    const acknowledged: Acknowledged[] = [];
    const refusals = new Map<string, number>();
    const pulls = { complete: 0, incomplete: 0 };
    const prunes = { ok: 0, failed: 0, evicted: 0 };

    const puller = async () => {
      while (Date.now() < until) {
        if (await pullMirrored(names[Math.floor(Math.random() * names.length)]!)) pulls.complete++;
        else pulls.incomplete++;
      }
    };
    // As a CI job does: pull a base image through the mirror, push an image made of its layers locally. Each
    // base is used once, so its files are shared only by the mirrored repository, which prune keeps evicting.
    let next = 0;
    const pusher = async (id: number) => {
      for (let n = 0; Date.now() < until && next < names.length; n++) {
        const source = names[next++]!;
        if (await pullMirrored(source)) pulls.complete++;
        else pulls.incomplete++;
        const pushed = await pushLocal(`local/w${id}-${n}`, images.get(source)!, refusals);
        if (pushed) acknowledged.push(pushed);
      }
    };
    const prune = async () => {
      while (Date.now() < until) {
        const run = await runCli(['cache', 'prune', '--to', '1', '--data', mirrorDir, '--mirror', `up=${upstream.url}`], {}, 30_000);
        if (run.code !== 0) {
          prunes.failed++;
          console.error(run.stderr);
          continue;
        }
        prunes.ok++;
        prunes.evicted += Number(/evicted (\d+) images/.exec(run.stdout)?.[1] ?? 0);
      }
    };
    await Promise.all([puller(), ...Array.from({ length: 6 }, (_, i) => pusher(i)), prune()]);

    const broken = await brokenImages(client, acknowledged);
    console.log(
      `prune race: ${acknowledged.length} acknowledged local images, ${broken.length} broken; refused ${JSON.stringify(Object.fromEntries(refusals))}; ` +
        `mirrored pulls ${pulls.complete} complete, ${pulls.incomplete} incomplete; prune ran ${prunes.ok} times (${prunes.failed} failed), evicted ${prunes.evicted} images`,
    );
    expect(prunes.failed).toBe(0);
    expect(prunes.evicted).toBeGreaterThan(0);
    expect(pulls.complete).toBeGreaterThan(0);
    expect(acknowledged.length).toBeGreaterThan(20);
    expect(broken.slice(0, 10)).toEqual([]);
  }, 120_000);
});
