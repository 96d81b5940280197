/**
 * crane (go-containerregistry) against a real Marina: push from OCI layouts (a ~64 MiB layer included), pull, copy
 * between repositories by mount, ls, digest, manifest, catalog, delete, blob, `append` of a streamed layer, and
 * `index append` building multi-platform indexes with OCI and Docker media types.
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

beforeAll(async () => {
  fx = getFixtures();
  marina = await startMarina();
  work = tempDir('crane');
}, HOOK_TIMEOUT_MS);

afterAll(async () => {
  await marina?.stop();
  removeTempDirs();
}, HOOK_TIMEOUT_MS);

function crane(args: string[], options: { timeoutMs?: number; stdoutPath?: string } = {}) {
  // A private HOME/DOCKER_CONFIG: no credentials or helpers from the machine are consulted.
  return run([tool('crane'), ...args, '--insecure'], { env: { HOME: work, DOCKER_CONFIG: work }, timeoutMs: options.timeoutMs ?? 120_000, stdoutPath: options.stdoutPath });
}

const ref = (r: string) => `${marina.host}/${r}`;

describe('crane', () => {
  test('is installed', async () => {
    console.log(`crane: ${await versionOf([tool('crane'), 'version'])}`);
  });

  test('push of an OCI layout stores the manifest and blobs byte for byte', async () => {
    const pushed = await crane(['push', fx.layouts.image, ref('crane/image:v1')]);
    expect(pushed.stdout.trim()).toBe(`${ref('crane/image')}@${fx.image.manifest.digest}`);
    const served = await getManifest(marina, 'crane/image', 'v1');
    expect(served.contentType).toBe(MEDIA.ociManifest);
    expect(sameBytes(served.bytes, readLayoutBlob(fx.layouts.image, fx.image.manifest.digest))).toBe(true);
    for (const d of [fx.image.config, ...fx.image.layers]) expect(sameBytes(await getBlob(marina, 'crane/image', d.digest), readLayoutBlob(fx.layouts.image, d.digest))).toBe(true);
  });

  test('push and blob round-trip a ~64 MiB layer', async () => {
    const pushed = await crane(['push', fx.layouts.big, ref('crane/big:v1')], { timeoutMs: 120_000 });
    expect(pushed.stdout.trim()).toBe(`${ref('crane/big')}@${fx.big.manifest.digest}`);
    const layer = fx.big.layers[1]!;
    const file = path.join(work, 'big.blob');
    await crane(['blob', `${ref('crane/big')}@${layer.digest}`], { stdoutPath: file });
    expect(fs.statSync(file).size).toBe(layer.size);
    expect(sha256(new Uint8Array(fs.readFileSync(file)))).toBe(layer.digest);
  }, 120_000);

  test('push of an index layout keeps the index and both platforms', async () => {
    const pushed = await crane(['push', fx.layouts.index, ref('crane/index:v1')]);
    expect(pushed.stdout.trim()).toBe(`${ref('crane/index')}@${fx.index.manifest.digest}`);
    const served = await getManifest(marina, 'crane/index', 'v1');
    expect(served.contentType).toBe(MEDIA.ociIndex);
    for (const [digest, bytes] of layoutTree(fx.layouts.index, fx.index.manifest.digest)) expect(sameBytes(await servedBytes(marina, 'crane/index', digest), bytes)).toBe(true);
  });

  test('pull writes an OCI layout identical to the source', async () => {
    const out = path.join(work, 'pulled-index');
    await crane(['pull', '--format', 'oci', ref('crane/index:v1'), out]);
    const index = readLayoutIndex(out);
    expect(index.manifests.map((m) => m.digest)).toEqual([fx.index.manifest.digest]);
    for (const [digest, bytes] of layoutTree(fx.layouts.index, fx.index.manifest.digest)) expect(sameBytes(readLayoutBlob(out, digest), bytes)).toBe(true);

    const single = path.join(work, 'pulled-image');
    await crane(['pull', '--format', 'oci', ref('crane/image:v1'), single]);
    expect(readLayoutIndex(single).manifests[0]!.digest).toBe(fx.image.manifest.digest);
    for (const [digest, bytes] of layoutTree(fx.layouts.image, fx.image.manifest.digest)) expect(sameBytes(readLayoutBlob(single, digest), bytes)).toBe(true);
  });

  test('copy between repositories mounts every blob instead of re-uploading', async () => {
    const copied = await crane(['copy', ref('crane/image:v1'), ref('crane/copy:v1')]);
    for (const d of [fx.image.config, ...fx.image.layers]) expect(copied.stderr).toContain(`mounted blob: ${d.digest}`);
    expect(copied.stderr).not.toContain('pushed blob');
    expect((await getManifest(marina, 'crane/copy', 'v1')).digest).toBe(fx.image.manifest.digest);
    for (const d of [fx.image.config, ...fx.image.layers]) await getBlob(marina, 'crane/copy', d.digest);

    const index = await crane(['copy', ref('crane/index:v1'), ref('crane/index-copy:v1')]);
    expect(index.stderr).not.toContain('pushed blob');
    expect((await getManifest(marina, 'crane/index-copy', 'v1')).digest).toBe(fx.index.manifest.digest);
  });

  test('ls lists tags in lexical order', async () => {
    for (const tag of ['v2', 'a', 'latest']) await crane(['tag', ref('crane/image:v1'), tag]);
    const tags = (await crane(['ls', ref('crane/image')])).stdout.trim().split('\n');
    expect(tags).toEqual(['a', 'latest', 'v1', 'v2']);
  });

  test('digest resolves tags, indexes and platforms', async () => {
    expect((await crane(['digest', ref('crane/image:v1')])).stdout.trim()).toBe(fx.image.manifest.digest);
    expect((await crane(['digest', ref('crane/index:v1')])).stdout.trim()).toBe(fx.index.manifest.digest);
    const arm64 = fx.index.children.find((c) => c.platform.architecture === 'arm64')!;
    expect((await crane(['digest', '--platform', 'linux/arm64', ref('crane/index:v1')])).stdout.trim()).toBe(arm64.manifest.digest);
  });

  test('manifest prints the stored bytes', async () => {
    const printed = await crane(['manifest', ref('crane/index:v1')]);
    expect(sha256(printed.stdout)).toBe(fx.index.manifest.digest);
    const child = await crane(['manifest', `${ref('crane/index')}@${fx.index.children[0]!.manifest.digest}`]);
    expect(sha256(child.stdout)).toBe(fx.index.children[0]!.manifest.digest);
  });

  test('catalog lists every repository', async () => {
    const repos = (await crane(['catalog', marina.host])).stdout.trim().split('\n');
    expect(repos).toEqual(['crane/big', 'crane/copy', 'crane/image', 'crane/index', 'crane/index-copy']);
  });

  test('blob streams a layer exactly', async () => {
    const layer = fx.image.layers[1]!;
    const file = path.join(work, 'layer.blob');
    await crane(['blob', `${ref('crane/copy')}@${layer.digest}`], { stdoutPath: file });
    expect(sameBytes(new Uint8Array(fs.readFileSync(file)), readLayoutBlob(fx.layouts.image, layer.digest))).toBe(true);
  });

  test('delete by digest removes the manifest and its tag', async () => {
    await crane(['delete', `${ref('crane/copy')}@${fx.image.manifest.digest}`]);
    expect(await headStatus(marina, `/v2/crane/copy/manifests/${fx.image.manifest.digest}`)).toBe(404);
    expect(await headStatus(marina, '/v2/crane/copy/manifests/v1')).toBe(404);
    const failed = await run([tool('crane'), 'digest', ref('crane/copy:v1'), '--insecure'], { env: { HOME: work, DOCKER_CONFIG: work }, allowFailure: true });
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('MANIFEST_UNKNOWN');
    // The source repository is untouched.
    expect((await getManifest(marina, 'crane/image', 'v1')).digest).toBe(fx.image.manifest.digest);
  });

  test('append streams a new layer of unknown digest (POST, PATCH stream, PUT ?digest=)', async () => {
    // A plain tar on stdin: crane gzips it while uploading, so it cannot know the digest up front.
    const tar = gunzip(readLayoutBlob(fx.layouts.image, fx.image.layers[1]!.digest));
    const out = await run([tool('crane'), 'append', '--insecure', '-b', ref('crane/image:v1'), '-f', '-', '-t', ref('crane/appended:v1')], {
      env: { HOME: work, DOCKER_CONFIG: work },
      stdin: tar,
    });
    const digest = out.stdout.trim().split('@')[1]!;
    const served = await getManifest(marina, 'crane/appended', 'v1');
    expect(served.digest).toBe(digest);
    const layers = served.json.layers as { digest: string; size: number }[];
    expect(layers.slice(0, 2).map((l) => l.digest)).toEqual(fx.image.layers.map((l) => l.digest));
    const added = await getBlob(marina, 'crane/appended', layers[2]!.digest);
    expect(added.byteLength).toBe(layers[2]!.size);
    expect(sha256(gunzip(added))).toBe(sha256(tar));
    const config = JSON.parse(new TextDecoder().decode(await getBlob(marina, 'crane/appended', served.json.config.digest)));
    expect(config.rootfs.diff_ids).toEqual([...fx.image.layers.map((l) => l.diffId), sha256(tar)]);
  });

  test('index append builds an OCI index from two single-platform images', async () => {
    const [amd64, arm64] = fx.index.children;
    const out = await crane(['index', 'append', '-t', ref('crane/multi:v1'), '-m', `${ref('crane/index')}@${amd64!.manifest.digest}`, '-m', `${ref('crane/index')}@${arm64!.manifest.digest}`]);
    const digest = out.stdout.trim().split('@')[1]!;
    const served = await getManifest(marina, 'crane/multi', 'v1');
    expect(served.digest).toBe(digest);
    expect(served.contentType).toBe(MEDIA.ociIndex);
    const entries = served.json.manifests as { digest: string; mediaType: string; platform: { os: string; architecture: string } }[];
    expect(entries.map((e) => [e.digest, e.mediaType, `${e.platform.os}/${e.platform.architecture}`])).toEqual([
      [amd64!.manifest.digest, MEDIA.ociManifest, 'linux/amd64'],
      [arm64!.manifest.digest, MEDIA.ociManifest, 'linux/arm64'],
    ]);
    // Children and their blobs were copied into the new repository.
    for (const child of fx.index.children) {
      expect((await getManifest(marina, 'crane/multi', child.manifest.digest)).digest).toBe(child.manifest.digest);
      for (const d of [child.config, ...child.layers]) await getBlob(marina, 'crane/multi', d.digest);
    }
    expect((await crane(['digest', '--platform', 'linux/arm64', ref('crane/multi:v1')])).stdout.trim()).toBe(arm64!.manifest.digest);
  });

  test('index append --docker-empty-base builds a Docker manifest list served with its own media type', async () => {
    await crane(['push', fx.layouts.dockerList, ref('crane/dlist:v1')]);
    const [amd64, arm64] = fx.dockerList.children;
    await crane(['index', 'append', '--docker-empty-base', '-t', ref('crane/dmulti:v1'), '-m', `${ref('crane/dlist')}@${amd64!.manifest.digest}`, '-m', `${ref('crane/dlist')}@${arm64!.manifest.digest}`]);
    const served = await getManifest(marina, 'crane/dmulti', 'v1');
    expect(served.contentType).toBe(MEDIA.dockerList);
    expect(served.json.mediaType).toBe(MEDIA.dockerList);
    expect((served.json.manifests as { digest: string }[]).map((m) => m.digest)).toEqual([amd64!.manifest.digest, arm64!.manifest.digest]);
    const child = await getManifest(marina, 'crane/dmulti', amd64!.manifest.digest);
    expect(child.contentType).toBe(MEDIA.dockerManifest);
  });

  test('the registry logged no unexpected errors', () => {
    expect(marina.errors()).toEqual([]);
  });
});
