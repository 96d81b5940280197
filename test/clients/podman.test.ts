/**
 * podman (rootful, vfs storage in a temp dir) against a real Marina: load from a Docker archive and an OCI layout,
 * push, push a second tag that reuses every layer, pull by tag and by digest into an empty store, pick a platform out
 * of an index. Everything podman writes (storage, run root, tmp, config) is under one temp dir; nothing global is
 * configured. Also: zstd-compressed layers, and `podman search` (which reads the catalog).
 *
 * Note: containers/image keeps its blob-info cache for root in /var/lib/containers/cache (no flag moves it). It
 * decides which blobs podman reuses: what it mounts from other repositories of the same registry (the cross-repo
 * mount below relies on it), and even a gzip blob in place of a zstd one. So tests assert content (diff_ids),
 * never digests of layers podman compressed itself, and the zstd push goes to a registry of its own.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MEDIA, type Fixtures } from '../fixtures/make-images.ts';
import { getBlob, getFixtures, getManifest, gunzip, pushLayout, removeTempDirs, run, sha256, startMarina, tempDir, tool, versionOf, HOOK_TIMEOUT_MS, type Marina } from './harness.ts';

let marina: Marina;
let fx: Fixtures;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  fx = getFixtures();
  marina = await startMarina({ logLevel: 'debug' });
  work = tempDir('podman');
  for (const d of ['root', 'runroot', 'tmp', 'home']) fs.mkdirSync(path.join(work, d));
  const file = (name: string, text: string) => {
    fs.writeFileSync(path.join(work, name), text);
    return path.join(work, name);
  };
  env = {
    HOME: path.join(work, 'home'),
    TMPDIR: path.join(work, 'tmp'),
    CONTAINERS_STORAGE_CONF: file('storage.conf', `[storage]\ndriver = "vfs"\ngraphroot = "${work}/root"\nrunroot = "${work}/runroot"\n`),
    CONTAINERS_REGISTRIES_CONF: file('registries.conf', `unqualified-search-registries = []\n[[registry]]\nlocation = "${marina.host}"\ninsecure = true\n`),
    CONTAINERS_CONF: file('containers.conf', '[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n'),
  };
  file('policy.json', JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
}, HOOK_TIMEOUT_MS);

afterAll(async () => {
  await marina?.stop();
  // vfs layers are plain directories; nothing is mounted, so the temp dir goes with the rest.
  removeTempDirs();
}, HOOK_TIMEOUT_MS);

function podman(args: string[], timeoutMs = 120_000) {
  const global = ['--root', `${work}/root`, '--runroot', `${work}/runroot`, '--storage-driver', 'vfs', '--tmpdir', `${work}/tmp`, '--events-backend', 'none', '--cgroup-manager', 'cgroupfs'];
  return run([tool('podman'), ...global, ...args], { env, timeoutMs });
}

/** Podman's flags for talking to the registry: plain HTTP, our own trust policy. */
const remote = () => ['--tls-verify=false', '--signature-policy', path.join(work, 'policy.json')];

interface Inspected {
  Id: string;
  Digest: string;
  RepoDigests: string[];
  RepoTags: string[];
  Architecture: string;
  RootFS: { Layers: string[] };
}

async function inspect(ref: string): Promise<Inspected> {
  return (JSON.parse((await podman(['image', 'inspect', ref])).stdout) as Inspected[])[0]!;
}

const hex = (digest: string) => digest.slice('sha256:'.length);

/** The requests the registry has logged, once its last log lines have arrived. */
async function settledRequests() {
  await Bun.sleep(100);
  return marina.requests();
}

describe('podman', () => {
  test('is installed', async () => {
    console.log(`podman: ${await versionOf([tool('podman'), '--version'])}`);
  });

  test('loads a Docker archive and OCI layouts into its store', async () => {
    const loaded = await podman(['load', '--signature-policy', path.join(work, 'policy.json'), '-i', fx.docker.path]);
    expect(loaded.stdout).toContain('marina.test/docker:v1');
    const docker = await inspect('marina.test/docker:v1');
    expect(docker.Id).toBe(hex(fx.docker.configDigest));
    expect(docker.RootFS.Layers).toEqual(fx.docker.diffIds);

    await podman(['pull', '--signature-policy', path.join(work, 'policy.json'), `oci:${fx.layouts.image}:latest`]);
    await podman(['tag', hex(fx.image.config.digest), 'marina.test/oci:v1']);
    const oci = await inspect('marina.test/oci:v1');
    expect(oci.Id).toBe(hex(fx.image.config.digest));
    expect(oci.RootFS.Layers).toEqual(fx.image.layers.map((l) => l.diffId));

    await podman(['pull', '--signature-policy', path.join(work, 'policy.json'), `oci:${fx.layouts.emptyLayer}:latest`]);
    await podman(['tag', hex(fx.emptyLayer.config.digest), 'marina.test/empty:v1']);
    expect((await inspect('marina.test/empty:v1')).RootFS.Layers).toEqual([sha256(new Uint8Array(1024))]);
  });

  test('pushes a Docker-format image as schema 2 with the same config and layer contents', async () => {
    const digestFile = path.join(work, 'docker.digest');
    await podman(['push', ...remote(), '--digestfile', digestFile, 'marina.test/docker:v1', `${marina.host}/podman/docker:v1`]);
    const served = await getManifest(marina, 'podman/docker', 'v1');
    expect(served.digest).toBe(fs.readFileSync(digestFile, 'utf8').trim());
    expect(served.contentType).toBe(MEDIA.dockerManifest);
    expect(served.json.config.digest).toBe(fx.docker.configDigest);
    expect(sha256(await getBlob(marina, 'podman/docker', fx.docker.configDigest))).toBe(fx.docker.configDigest);
    const layers = served.json.layers as { digest: string }[];
    expect(layers.length).toBe(fx.docker.diffIds.length);
    for (const [i, layer] of layers.entries()) expect(sha256(gunzip(await getBlob(marina, 'podman/docker', layer.digest)))).toBe(fx.docker.diffIds[i]!);
  });

  test('pushes OCI images (one with an empty layer) as OCI manifests', async () => {
    for (const [name, image] of [['oci', fx.image], ['empty', fx.emptyLayer]] as const) {
      await podman(['push', ...remote(), '--format', 'oci', `marina.test/${name}:v1`, `${marina.host}/podman/${name}:v1`]);
      const served = await getManifest(marina, `podman/${name}`, 'v1');
      expect(served.contentType).toBe(MEDIA.ociManifest);
      expect(served.json.config.digest).toBe(image.config.digest);
      const layers = served.json.layers as { digest: string; mediaType: string }[];
      expect(layers.map((l) => l.mediaType)).toEqual(image.layers.map(() => MEDIA.ociLayerGzip));
      for (const [i, layer] of layers.entries()) expect(sha256(gunzip(await getBlob(marina, `podman/${name}`, layer.digest)))).toBe(image.layers[i]!.diffId);
    }
  });

  test('pushing a second tag uploads no blob again; another repository mounts the layers', async () => {
    const mark = (await settledRequests()).length;
    const digestFile = path.join(work, 'docker-v2.digest');
    await podman(['push', ...remote(), '--digestfile', digestFile, 'marina.test/docker:v1', `${marina.host}/podman/docker:v2`]);
    await podman(['push', ...remote(), 'marina.test/docker:v1', `${marina.host}/podman/elsewhere:v1`]);
    const seen = (await settledRequests()).slice(mark);
    const posts = (repo: string, status: number) => seen.filter((r) => r.method === 'POST' && r.path === `/v2/${repo}/blobs/uploads/` && r.status === status).length;
    // Same repository: every blob is found by HEAD, nothing is sent.
    expect(posts('podman/docker', 202)).toBe(0);
    expect(posts('podman/docker', 201)).toBe(0);
    // Another repository: both layers come by cross-repository mount (201 on POST ?mount=&from=). containers/image
    // never tries to mount a config, so that one small blob is uploaded.
    expect(posts('podman/elsewhere', 201)).toBe(fx.docker.diffIds.length);
    expect(posts('podman/elsewhere', 202)).toBe(1);

    const v1 = await getManifest(marina, 'podman/docker', 'v1');
    expect(fs.readFileSync(digestFile, 'utf8').trim()).toBe(v1.digest);
    expect((await getManifest(marina, 'podman/docker', 'v2')).digest).toBe(v1.digest);
    expect((await getManifest(marina, 'podman/elsewhere', 'v1')).digest).toBe(v1.digest);
    for (const layer of v1.json.layers as { digest: string }[]) await getBlob(marina, 'podman/elsewhere', layer.digest);
    const tags = (await (await marina.fetch('/v2/podman/docker/tags/list')).json()) as { tags: string[] };
    expect(tags.tags).toEqual(['v1', 'v2']);
  });

  test('pulls by tag and by digest into an empty store', async () => {
    const pushed = await getManifest(marina, 'podman/docker', 'v1');
    const oci = await getManifest(marina, 'podman/oci', 'v1');
    await podman(['rmi', '--all', '--force']);
    expect((await podman(['images', '--quiet'])).stdout.trim()).toBe('');

    const byDigest = `${marina.host}/podman/docker@${pushed.digest}`;
    await podman(['pull', ...remote(), byDigest]);
    const docker = await inspect(byDigest);
    expect(docker.Id).toBe(hex(fx.docker.configDigest));
    expect(docker.Digest).toBe(pushed.digest);
    expect(docker.RootFS.Layers).toEqual(fx.docker.diffIds);
    expect(docker.RepoDigests).toContain(byDigest);

    await podman(['pull', ...remote(), `${marina.host}/podman/oci:v1`]);
    const image = await inspect(`${marina.host}/podman/oci:v1`);
    expect(image.Id).toBe(hex(fx.image.config.digest));
    expect(image.Digest).toBe(oci.digest);
    expect(image.RootFS.Layers).toEqual(fx.image.layers.map((l) => l.diffId));

    await podman(['pull', ...remote(), `${marina.host}/podman/empty:v1`]);
    expect((await inspect(`${marina.host}/podman/empty:v1`)).Id).toBe(hex(fx.emptyLayer.config.digest));

  });

  test('pulls the requested platform out of a multi-platform index', async () => {
    await pushLayout(marina, fx.layouts.index, 'podman/index', 'v1');
    const arm64 = fx.index.children.find((c) => c.platform.architecture === 'arm64')!;
    await podman(['pull', ...remote(), '--arch', 'arm64', `${marina.host}/podman/index:v1`]);
    const image = await inspect(`${marina.host}/podman/index:v1`);
    expect(image.Id).toBe(hex(arm64.config.digest));
    expect(image.Architecture).toBe('arm64');
    expect(image.RootFS.Layers).toEqual(arm64.layers.map((l) => l.diffId));
    expect(image.RepoDigests).toContain(`${marina.host}/podman/index@${arm64.manifest.digest}`);

    // And by the index digest, for the other platform.
    const amd64 = fx.index.children.find((c) => c.platform.architecture === 'amd64')!;
    const ref = `${marina.host}/podman/index@${fx.index.manifest.digest}`;
    await podman(['pull', ...remote(), '--arch', 'amd64', ref]);
    expect((await inspect(ref)).Id).toBe(hex(amd64.config.digest));
  });

  test('pushes zstd-compressed layers with the zstd media type and pulls them back', async () => {
    // A registry of its own: containers/image reuses any blob of the same content it knows the registry holds,
    // whatever its compression, so against the shared registry it would keep the gzip layers pushed above.
    const fresh = await startMarina();
    try {
      const source = `${marina.host}/podman/oci:v1`;
      const target = `${fresh.host}/podman/zstd:v1`;
      await podman(['push', ...remote(), '--format', 'oci', '--compression-format', 'zstd', source, target]);
      const served = await getManifest(fresh, 'podman/zstd', 'v1');
      expect(served.json.config.digest).toBe(fx.image.config.digest);
      const layers = served.json.layers as { digest: string; mediaType: string }[];
      expect(layers.map((l) => l.mediaType)).toEqual(fx.image.layers.map(() => 'application/vnd.oci.image.layer.v1.tar+zstd'));
      // zstd frames start with the magic number 28 b5 2f fd (RFC 8878 §3.1.1).
      for (const layer of layers) expect([...(await getBlob(fresh, 'podman/zstd', layer.digest)).subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);

      await podman(['rmi', '--all', '--force']);
      await podman(['pull', ...remote(), target]);
      const pulled = await inspect(target);
      expect(pulled.Id).toBe(hex(fx.image.config.digest));
      expect(pulled.Digest).toBe(served.digest);
      expect(pulled.RootFS.Layers).toEqual(fx.image.layers.map((l) => l.diffId));
      expect(fresh.errors()).toEqual([]);
    } finally {
      await fresh.stop();
    }
  });

  test('search lists the registry repositories (via /v2/_catalog)', async () => {
    const found = await podman(['search', '--tls-verify=false', '--format', '{{.Name}}', `${marina.host}/podman/`]);
    const names = found.stdout.trim().split('\n');
    for (const repo of ['docker', 'elsewhere', 'empty', 'index', 'oci']) expect(names).toContain(`${marina.host}/podman/${repo}`);
  });

  test('the registry logged no unexpected errors', () => {
    expect(marina.errors()).toEqual([]);
  });
});
