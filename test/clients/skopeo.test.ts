/**
 * skopeo (containers/image) against a real Marina: OCI layouts and a Docker archive in and back out byte for byte,
 * a Docker manifest list kept with its own media types, inspect, list-tags, delete.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MEDIA, type Fixtures } from '../fixtures/make-images.ts';
import {
  getBlob,
  getFixtures,
  getManifest,
  gunzip,
  headStatus,
  HOOK_TIMEOUT_MS,
  pushLayout,
  readLayoutBlob,
  readLayoutIndex,
  layoutTree,
  servedBytes,
  removeTempDirs,
  run,
  sameBytes,
  sha256,
  startMarina,
  tempDir,
  tool,
  versionOf,
  type Marina,
} from './harness.ts';

let marina: Marina;
let fx: Fixtures;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  fx = getFixtures();
  marina = await startMarina();
  work = tempDir('skopeo');
  // Own policy, registries.conf and temp dir: nothing global is read for trust or search, nothing big lands in /var/tmp.
  fs.writeFileSync(path.join(work, 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  fs.writeFileSync(path.join(work, 'registries.conf'), `unqualified-search-registries = []\n[[registry]]\nlocation = "${marina.host}"\ninsecure = true\n`);
  fs.mkdirSync(path.join(work, 'tmp'));
  env = { CONTAINERS_REGISTRIES_CONF: path.join(work, 'registries.conf'), TMPDIR: path.join(work, 'tmp'), HOME: work };
}, HOOK_TIMEOUT_MS);

afterAll(async () => {
  await marina?.stop();
  removeTempDirs();
}, HOOK_TIMEOUT_MS);

function skopeo(args: string[], timeoutMs = 120_000) {
  return run([tool('skopeo'), '--policy', path.join(work, 'policy.json'), ...args], { env, timeoutMs });
}

const reg = (ref: string) => `docker://${marina.host}/${ref}`;

/** Asserts the registry serves every manifest and blob of the tree byte for byte. */
async function expectServed(repository: string, tree: Map<string, Uint8Array>) {
  for (const [digest, bytes] of tree) expect(sameBytes(await servedBytes(marina, repository, digest), bytes)).toBe(true);
}

describe('skopeo', () => {
  test('is installed', async () => {
    console.log(`skopeo: ${await versionOf([tool('skopeo'), '--version'])}`);
  });

  test('copies an OCI layout in and back out with identical manifest and blobs', async () => {
    const src = fx.layouts.image;
    await skopeo(['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${src}:latest`, reg('skopeo/image:v1')]);

    const served = await getManifest(marina, 'skopeo/image', 'v1');
    expect(served.digest).toBe(fx.image.manifest.digest);
    expect(served.contentType).toBe(MEDIA.ociManifest);
    const tree = layoutTree(src, fx.image.manifest.digest);
    await expectServed('skopeo/image', tree);

    const out = path.join(tempDir('skopeo-out'), 'image');
    await skopeo(['copy', '--preserve-digests', '--src-tls-verify=false', reg('skopeo/image:v1'), `oci:${out}:latest`]);
    const index = readLayoutIndex(out);
    expect(index.manifests[0]!.digest).toBe(fx.image.manifest.digest);
    for (const [digest, bytes] of tree) expect(sameBytes(readLayoutBlob(out, digest), bytes)).toBe(true);
  });

  test('copies a ~64 MiB layer in and back out intact', async () => {
    const src = fx.layouts.big;
    await skopeo(['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${src}:latest`, reg('skopeo/big:v1')]);
    const served = await getManifest(marina, 'skopeo/big', 'v1');
    expect(served.digest).toBe(fx.big.manifest.digest);
    const bigLayer = fx.big.layers[1]!;
    expect(bigLayer.size).toBeGreaterThan(64 * 1024 * 1024);
    const head = await marina.fetch(`/v2/skopeo/big/blobs/${bigLayer.digest}`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(bigLayer.size));

    const out = path.join(tempDir('skopeo-out'), 'big');
    await skopeo(['copy', '--preserve-digests', '--src-tls-verify=false', reg('skopeo/big:v1'), `oci:${out}:latest`]);
    const copied = readLayoutBlob(out, bigLayer.digest);
    expect(copied.byteLength).toBe(bigLayer.size);
    expect(sha256(copied)).toBe(bigLayer.digest);
  }, 120_000);

  test('copies a multi-platform OCI index with --all and back out', async () => {
    const src = fx.layouts.index;
    await skopeo(['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${src}:latest`, reg('skopeo/index:v1')]);
    const served = await getManifest(marina, 'skopeo/index', 'v1');
    expect(served.digest).toBe(fx.index.manifest.digest);
    expect(served.contentType).toBe(MEDIA.ociIndex);
    const tree = layoutTree(src, fx.index.manifest.digest);
    await expectServed('skopeo/index', tree);

    const out = path.join(tempDir('skopeo-out'), 'index');
    await skopeo(['copy', '--all', '--preserve-digests', '--src-tls-verify=false', reg('skopeo/index:v1'), `oci:${out}:latest`]);
    expect(readLayoutIndex(out).manifests[0]!.digest).toBe(fx.index.manifest.digest);
    for (const [digest, bytes] of tree) expect(sameBytes(readLayoutBlob(out, digest), bytes)).toBe(true);
  });

  test('copies a Docker archive in (schema 2) and back out', async () => {
    await skopeo(['copy', '--dest-tls-verify=false', `docker-archive:${fx.docker.path}`, reg('skopeo/docker:v1')]);
    const served = await getManifest(marina, 'skopeo/docker', 'v1');
    expect(served.contentType).toBe(MEDIA.dockerManifest);
    expect(served.json.mediaType).toBe(MEDIA.dockerManifest);
    expect(served.json.config.digest).toBe(fx.docker.configDigest);
    // skopeo gzips the archive's plain tars on the way in; each pushed layer must gunzip to the archive's layer.
    const layers = served.json.layers as { digest: string; mediaType: string }[];
    expect(layers.map((l) => l.mediaType)).toEqual(fx.docker.diffIds.map(() => MEDIA.dockerLayerGzip));
    for (const [i, layer] of layers.entries()) expect(sha256(gunzip(await getBlob(marina, 'skopeo/docker', layer.digest)))).toBe(fx.docker.diffIds[i]!);

    // dir: keeps manifest and blobs exactly as the registry sent them.
    const out = path.join(tempDir('skopeo-out'), 'docker-dir');
    await skopeo(['copy', '--src-tls-verify=false', reg('skopeo/docker:v1'), `dir:${out}`]);
    expect(sameBytes(new Uint8Array(fs.readFileSync(path.join(out, 'manifest.json'))), served.bytes)).toBe(true);
    for (const d of [served.json.config.digest, ...layers.map((l) => l.digest)]) {
      const file = new Uint8Array(fs.readFileSync(path.join(out, d.slice('sha256:'.length))));
      expect(sameBytes(file, await getBlob(marina, 'skopeo/docker', d))).toBe(true);
    }

    // And back to a Docker archive: same image (config) as the one that went in.
    const archive = path.join(tempDir('skopeo-out'), 'docker.tar');
    await skopeo(['copy', '--src-tls-verify=false', reg('skopeo/docker:v1'), `docker-archive:${archive}:marina.test/docker:v1`]);
    const config = await skopeo(['inspect', '--config', '--raw', `docker-archive:${archive}`]);
    expect(sha256(config.stdout)).toBe(fx.docker.configDigest);
    expect(JSON.parse(config.stdout).rootfs.diff_ids).toEqual(fx.docker.diffIds);
  });

  test('keeps a Docker manifest list and its schema 2 children with their own media types', async () => {
    await pushLayout(marina, fx.layouts.dockerList, 'skopeo/dlist-src', 'v1');
    await skopeo(['copy', '--all', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false', reg('skopeo/dlist-src:v1'), reg('skopeo/dlist:v1')]);
    const list = await getManifest(marina, 'skopeo/dlist', 'v1');
    expect(list.digest).toBe(fx.dockerList.manifest.digest);
    expect(list.contentType).toBe(MEDIA.dockerList);
    for (const child of fx.dockerList.children) {
      const m = await getManifest(marina, 'skopeo/dlist', child.manifest.digest);
      expect(m.contentType).toBe(MEDIA.dockerManifest);
    }
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', reg('skopeo/dlist:v1')]);
    expect(sha256(raw.stdout)).toBe(fx.dockerList.manifest.digest);

    // Without --all skopeo picks the linux/amd64 child out of the list.
    const amd64 = fx.dockerList.children.find((c) => c.platform.architecture === 'amd64')!;
    const inspected = JSON.parse((await skopeo(['inspect', '--tls-verify=false', '--override-arch', 'amd64', '--override-os', 'linux', reg('skopeo/dlist:v1')])).stdout);
    expect(inspected.Digest).toBe(fx.dockerList.manifest.digest);
    expect(inspected.Layers).toEqual(amd64.layers.map((l) => l.digest));
  });

  test('inspect reports the pushed image', async () => {
    const info = JSON.parse((await skopeo(['inspect', '--tls-verify=false', reg('skopeo/image:v1')])).stdout);
    expect(info.Digest).toBe(fx.image.manifest.digest);
    expect(info.Layers).toEqual(fx.image.layers.map((l) => l.digest));
    expect(info.Architecture).toBe('amd64');
    expect(info.Os).toBe('linux');
    expect(info.Labels).toEqual({ 'test.marina.image': 'image' });
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', reg('skopeo/image:v1')]);
    expect(sameBytes(new TextEncoder().encode(raw.stdout), readLayoutBlob(fx.layouts.image, fx.image.manifest.digest))).toBe(true);
    const config = await skopeo(['inspect', '--config', '--raw', '--tls-verify=false', reg('skopeo/image:v1')]);
    expect(sha256(config.stdout)).toBe(fx.image.config.digest);
  });

  test('list-tags lists every tag in lexical order', async () => {
    for (const tag of ['v2', 'latest', '1.0']) {
      await skopeo(['copy', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false', reg('skopeo/image:v1'), reg(`skopeo/image:${tag}`)]);
    }
    const listed = JSON.parse((await skopeo(['list-tags', '--tls-verify=false', reg('skopeo/image')])).stdout);
    expect(listed.Repository).toBe(`${marina.host}/skopeo/image`);
    expect(listed.Tags).toEqual(['1.0', 'latest', 'v1', 'v2']);
  });

  test('delete removes the manifest (and every tag on it)', async () => {
    await skopeo(['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${fx.layouts.emptyLayer}:latest`, reg('skopeo/doomed:a')]);
    await skopeo(['copy', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false', reg('skopeo/doomed:a'), reg('skopeo/doomed:b')]);
    const digest = fx.emptyLayer.manifest.digest;
    expect(await headStatus(marina, `/v2/skopeo/doomed/manifests/${digest}`)).toBe(200);
    // skopeo resolves the tag and deletes by digest (distribution-spec "Deleting manifests").
    await skopeo(['delete', '--tls-verify=false', reg('skopeo/doomed:a')]);
    expect(await headStatus(marina, `/v2/skopeo/doomed/manifests/${digest}`)).toBe(404);
    expect(await headStatus(marina, '/v2/skopeo/doomed/manifests/a')).toBe(404);
    expect(await headStatus(marina, '/v2/skopeo/doomed/manifests/b')).toBe(404);
    const tags = await (await marina.fetch('/v2/skopeo/doomed/tags/list')).json();
    expect((tags as { tags: string[] }).tags).toEqual([]);
    const failed = await run([tool('skopeo'), 'inspect', '--tls-verify=false', reg('skopeo/doomed:b')], { env, allowFailure: true });
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/manifest unknown|not found/i);
  });

  test('the registry logged no unexpected errors', () => {
    expect(marina.errors()).toEqual([]);
  });
});
