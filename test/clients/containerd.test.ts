/**
 * containerd (`ctr images pull`) against a real Marina over plain HTTP, configured by a hosts.toml in a --hosts-dir.
 *
 * The test runs its own containerd daemon: root, state, opt dir and sockets under one temp dir, a config written
 * here, CRI and other unneeded plugins off, stopped (SIGTERM, then SIGKILL) afterwards. Pulls unpack into the
 * overlayfs snapshotter when this kernel supports it, else into `native` (plain directory copies, works anywhere);
 * the one in use is printed (MARINA_CTR_SNAPSHOTTER=native forces the fallback). Assertions read containerd's content store (`ctr content get`) and snapshots (keyed
 * by layer chain IDs), so they prove what was fetched and unpacked, not only that ctr exited 0.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MEDIA, type Fixtures, type ImageInfo } from '../fixtures/make-images.ts';
import { chainId, getFixtures, pushLayout, readLayoutBlob, removeTempDirs, run, sameBytes, sha256, startMarina, tempDir, tool, versionOf, HOOK_TIMEOUT_MS, type Marina } from './harness.ts';
import { startContainerd, type ContainerdDaemon } from '../support/containerd.ts';

let marina: Marina;
let fx: Fixtures;
let work: string;
let socket: string;
let daemon: ContainerdDaemon | undefined;
let snapshotter = 'native';
const NAMESPACE = 'marina-test';

function ctr(args: string[], options: { stdoutPath?: string; timeoutMs?: number } = {}) {
  return run([tool('ctr'), '--address', socket, '--namespace', NAMESPACE, ...args], { timeoutMs: options.timeoutMs ?? 120_000, stdoutPath: options.stdoutPath });
}

function pull(reference: string, extra: string[] = []) {
  return ctr(['images', 'pull', '--hosts-dir', path.join(work, 'certs.d'), '--snapshotter', snapshotter, ...extra, `${marina.host}/${reference}`]);
}

/** `ctr images ls` as rows of REF, TYPE, DIGEST. */
async function images(): Promise<{ ref: string; type: string; digest: string }[]> {
  const lines = (await ctr(['images', 'ls'])).stdout.trim().split('\n').slice(1);
  return lines.map((line) => {
    const [ref, type, digest] = line.split(/\s+/);
    return { ref: ref!, type: type!, digest: digest! };
  });
}

async function contentDigests(): Promise<Set<string>> {
  return new Set((await ctr(['content', 'ls', '--quiet'])).stdout.trim().split('\n'));
}

async function snapshotKeys(): Promise<Set<string>> {
  const lines = (await ctr(['snapshots', '--snapshotter', snapshotter, 'ls'])).stdout.trim().split('\n').slice(1);
  return new Set(lines.map((l) => l.split(/\s+/)[0]!));
}

/** Reads a blob out of containerd's content store and checks it against the layout's bytes. */
async function expectContent(layout: string, digest: string): Promise<void> {
  const file = path.join(work, 'content.out');
  await ctr(['content', 'get', digest], { stdoutPath: file });
  const got = new Uint8Array(fs.readFileSync(file));
  expect(sha256(got)).toBe(digest);
  expect(sameBytes(got, readLayoutBlob(layout, digest))).toBe(true);
}

async function expectImageContent(layout: string, image: ImageInfo): Promise<void> {
  const content = await contentDigests();
  for (const d of [image.manifest, image.config, ...image.layers]) {
    expect(content.has(d.digest)).toBe(true);
    await expectContent(layout, d.digest);
  }
}

beforeAll(async () => {
  fx = getFixtures();
  marina = await startMarina();
  work = tempDir('containerd');
  daemon = await startContainerd(work);
  socket = daemon.socket;
  const plugins = (await run([tool('ctr'), '--address', socket, 'plugins', 'ls'])).stdout;
  snapshotter = process.env.MARINA_CTR_SNAPSHOTTER ?? (/io\.containerd\.snapshotter\.v1\s+overlayfs\s+\S+\s+ok/.test(plugins) ? 'overlayfs' : 'native');
  console.log(`containerd snapshotter in use: ${snapshotter}`);

  const hostDir = path.join(work, 'certs.d', marina.host);
  fs.mkdirSync(hostDir, { recursive: true });
  fs.writeFileSync(path.join(hostDir, 'hosts.toml'), `server = "${marina.url}"\n\n[host."${marina.url}"]\n  capabilities = ["pull", "resolve"]\n`);

  await pushLayout(marina, fx.layouts.image, 'ctr/oci', 'v1');
  await pushLayout(marina, fx.layouts.index, 'ctr/index', 'v1');
  await pushLayout(marina, fx.layouts.dockerList, 'ctr/docker-list', 'v1');
  const dockerAmd64 = fx.dockerList.children.find((c) => c.platform.architecture === 'amd64')!;
  await pushLayout(marina, fx.layouts.dockerList, 'ctr/docker', 'v1', dockerAmd64.manifest.digest);
  await pushLayout(marina, fx.layouts.emptyLayer, 'ctr/empty', 'v1');
  await pushLayout(marina, fx.layouts.big, 'ctr/big', 'v1');
}, HOOK_TIMEOUT_MS);

afterAll(async () => {
  await daemon?.stop();
  await marina?.stop();
  const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => work && l.includes(work));
  if (mounts.length) console.error(`containerd left mounts behind (temp dirs kept):\n${mounts.join('\n')}`);
  else removeTempDirs();
}, HOOK_TIMEOUT_MS);

describe('containerd (ctr)', () => {
  test('is installed', async () => {
    console.log(`ctr: ${await versionOf([tool('ctr'), '--version'])}`);
    console.log(`containerd: ${await versionOf([tool('containerd'), '--version'])}`);
  });

  test('pulls an OCI image: content store holds manifest, config and layers; layers unpacked', async () => {
    await pull('ctr/oci:v1');
    const row = (await images()).find((i) => i.ref === `${marina.host}/ctr/oci:v1`);
    expect(row).toEqual({ ref: `${marina.host}/ctr/oci:v1`, type: MEDIA.ociManifest, digest: fx.image.manifest.digest });
    await expectImageContent(fx.layouts.image, fx.image);
    expect((await snapshotKeys()).has(chainId(fx.image.layers.map((l) => l.diffId)))).toBe(true);
  });

  test('pulls a Docker schema 2 image', async () => {
    const image = fx.dockerList.children.find((c) => c.platform.architecture === 'amd64')!;
    await pull('ctr/docker:v1');
    const row = (await images()).find((i) => i.ref === `${marina.host}/ctr/docker:v1`);
    expect(row).toEqual({ ref: `${marina.host}/ctr/docker:v1`, type: MEDIA.dockerManifest, digest: image.manifest.digest });
    await expectImageContent(fx.layouts.dockerList, image);
    expect((await snapshotKeys()).has(chainId(image.layers.map((l) => l.diffId)))).toBe(true);
  });

  test('pulls a Docker manifest list with --all-platforms and unpacks both', async () => {
    await pull('ctr/docker-list:v1', ['--all-platforms']);
    const row = (await images()).find((i) => i.ref === `${marina.host}/ctr/docker-list:v1`);
    expect(row).toEqual({ ref: `${marina.host}/ctr/docker-list:v1`, type: MEDIA.dockerList, digest: fx.dockerList.manifest.digest });
    await expectContent(fx.layouts.dockerList, fx.dockerList.manifest.digest);
    const snapshots = await snapshotKeys();
    for (const child of fx.dockerList.children) {
      await expectImageContent(fx.layouts.dockerList, child);
      expect(snapshots.has(chainId(child.layers.map((l) => l.diffId)))).toBe(true);
    }
  });

  test('pulls an OCI index by digest, fetching only the linux/amd64 image', async () => {
    await pull(`ctr/index@${fx.index.manifest.digest}`, ['--platform', 'linux/amd64']);
    const amd64 = fx.index.children.find((c) => c.platform.architecture === 'amd64')!;
    const arm64 = fx.index.children.find((c) => c.platform.architecture === 'arm64')!;
    const row = (await images()).find((i) => i.ref === `${marina.host}/ctr/index@${fx.index.manifest.digest}`);
    expect(row?.type).toBe(MEDIA.ociIndex);
    expect(row?.digest).toBe(fx.index.manifest.digest);
    await expectImageContent(fx.layouts.index, amd64);
    const content = await contentDigests();
    expect(content.has(arm64.config.digest)).toBe(false);
    expect(content.has(arm64.layers[1]!.digest)).toBe(false);
  });

  test('pulls an image whose only layer is an empty tar', async () => {
    await pull('ctr/empty:v1');
    await expectImageContent(fx.layouts.emptyLayer, fx.emptyLayer);
    expect((await snapshotKeys()).has(fx.emptyLayer.layers[0]!.diffId)).toBe(true);
  });

  test('pulls a ~64 MiB layer intact', async () => {
    await pull('ctr/big:v1');
    const layer = fx.big.layers[1]!;
    expect((await contentDigests()).has(layer.digest)).toBe(true);
    const file = path.join(work, 'big.out');
    await ctr(['content', 'get', layer.digest], { stdoutPath: file });
    expect(fs.statSync(file).size).toBe(layer.size);
    expect(sha256(new Uint8Array(fs.readFileSync(file)))).toBe(layer.digest);
    fs.rmSync(file);
    expect((await snapshotKeys()).has(chainId(fx.big.layers.map((l) => l.diffId)))).toBe(true);
  }, 120_000);

  test('containerd and the registry logged no unexpected errors', () => {
    expect(marina.errors()).toEqual([]);
    const errors = (daemon?.log() ?? '').split('\n').filter((l) => /level=(error|fatal)/.test(l));
    expect(errors).toEqual([]);
  });
});
