/**
 * regctl (regclient) against a real Marina, with a private HOME whose regctl config marks the registry tls=disabled:
 * image copy (OCI layout ↔ registry ↔ registry), image inspect, manifest get, tag ls with paging, artifact put
 * --subject and artifact list — with the referrers API and against `--no-referrers` (tag schema fallback).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MEDIA, SIGNATURE_TYPE, type Fixtures } from '../fixtures/make-images.ts';
import { getFixtures, getManifest, layoutTree, readLayoutBlob, readLayoutIndex, removeTempDirs, servedBytes, run, sameBytes, sha256, startMarina, tempDir, tool, versionOf, HOOK_TIMEOUT_MS, type Marina } from './harness.ts';

let fx: Fixtures;

beforeAll(() => {
  fx = getFixtures();
}, HOOK_TIMEOUT_MS);

afterAll(() => {
  removeTempDirs();
});

/** A regctl bound to one private HOME whose config knows the registry as plain HTTP. */
async function regctlFor(marina: Marina) {
  const home = tempDir('regctl-home');
  const regctl = (args: string[], options: { stdoutPath?: string } = {}) => run([tool('regctl'), ...args], { env: { HOME: home, DOCKER_CONFIG: home }, cwd: home, ...options });
  await regctl(['registry', 'set', '--tls', 'disabled', marina.host]);
  const config = JSON.parse(fs.readFileSync(path.join(home, '.regctl', 'config.json'), 'utf8'));
  expect(config.hosts[marina.host].tls).toBe('disabled');
  return regctl;
}

describe('regctl', () => {
  let marina: Marina;
  let regctl: Awaited<ReturnType<typeof regctlFor>>;
  const ref = (r: string) => `${marina.host}/${r}`;

  beforeAll(async () => {
    marina = await startMarina();
    regctl = await regctlFor(marina);
  }, HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await marina?.stop();
  }, HOOK_TIMEOUT_MS);

  test('is installed', async () => {
    console.log(`regctl: ${await versionOf([tool('regctl'), 'version', '--format', '{{.VCSTag}}'])}`);
  });

  test('image copy from OCI layouts keeps images, indexes and Docker manifest lists byte for byte', async () => {
    const cases = [
      { repo: 'regctl/image', layout: fx.layouts.image, digest: fx.image.manifest.digest, type: MEDIA.ociManifest },
      { repo: 'regctl/index', layout: fx.layouts.index, digest: fx.index.manifest.digest, type: MEDIA.ociIndex },
      { repo: 'regctl/dlist', layout: fx.layouts.dockerList, digest: fx.dockerList.manifest.digest, type: MEDIA.dockerList },
    ];
    for (const c of cases) {
      await regctl(['image', 'copy', `ocidir://${c.layout}:latest`, ref(`${c.repo}:v1`)]);
      const served = await getManifest(marina, c.repo, 'v1');
      expect(served.digest).toBe(c.digest);
      expect(served.contentType).toBe(c.type);
      for (const [digest, bytes] of layoutTree(c.layout, c.digest)) expect(sameBytes(await servedBytes(marina, c.repo, digest), bytes)).toBe(true);
    }
    for (const child of fx.dockerList.children) expect((await getManifest(marina, 'regctl/dlist', child.manifest.digest)).contentType).toBe(MEDIA.dockerManifest);
  });

  test('image copy between repositories and out to an OCI layout', async () => {
    await regctl(['image', 'copy', ref('regctl/index:v1'), ref('regctl/index-copy:v1')]);
    expect((await getManifest(marina, 'regctl/index-copy', 'v1')).digest).toBe(fx.index.manifest.digest);
    const out = path.join(tempDir('regctl-out'), 'index');
    await regctl(['image', 'copy', ref('regctl/index-copy:v1'), `ocidir://${out}:latest`]);
    expect(readLayoutIndex(out).manifests.map((m) => m.digest)).toContain(fx.index.manifest.digest);
    for (const [digest, bytes] of layoutTree(fx.layouts.index, fx.index.manifest.digest)) expect(sameBytes(readLayoutBlob(out, digest), bytes)).toBe(true);
  });

  test('image inspect shows the image config; manifest get and image digest match', async () => {
    const config = JSON.parse((await regctl(['image', 'inspect', '--format', '{{json .}}', ref('regctl/image:v1')])).stdout);
    expect(config).toEqual(JSON.parse(new TextDecoder().decode(readLayoutBlob(fx.layouts.image, fx.image.config.digest))));
    const arm64 = fx.index.children.find((c) => c.platform.architecture === 'arm64')!;
    const armConfig = JSON.parse((await regctl(['image', 'inspect', '--platform', 'linux/arm64', '--format', '{{json .}}', ref('regctl/index:v1')])).stdout);
    expect(armConfig.rootfs.diff_ids).toEqual(arm64.layers.map((l) => l.diffId));
    const body = await regctl(['manifest', 'get', '--format', 'raw-body', ref('regctl/index:v1')]);
    expect(sha256(body.stdout)).toBe(fx.index.manifest.digest);
    expect((await regctl(['image', 'digest', ref('regctl/dlist:v1')])).stdout.trim()).toBe(fx.dockerList.manifest.digest);
  });

  test('tag ls lists tags and pages with --limit/--last (n and last)', async () => {
    for (const tag of ['b', 'a', 'c', 'd']) await regctl(['image', 'copy', ref('regctl/image:v1'), ref(`regctl/image:${tag}`)]);
    expect((await regctl(['tag', 'ls', ref('regctl/image')])).stdout.trim().split('\n')).toEqual(['a', 'b', 'c', 'd', 'v1']);
    expect((await regctl(['tag', 'ls', '--limit', '2', ref('regctl/image')])).stdout.trim().split('\n')).toEqual(['a', 'b']);
    expect((await regctl(['tag', 'ls', '--limit', '2', '--last', 'b', ref('regctl/image')])).stdout.trim().split('\n')).toEqual(['c', 'd']);
  });

  test('artifact put --subject, artifact list, artifact get, copy with --referrers', async () => {
    const file = fx.signature.payload.path;
    await regctl(['artifact', 'put', '--subject', ref('regctl/image:v1'), '--artifact-type', SIGNATURE_TYPE, '--annotation', 'test.marina=regctl', '--file', file, '--file-media-type', SIGNATURE_TYPE]);
    const listed = JSON.parse((await regctl(['artifact', 'list', '--format', '{{json .}}', ref('regctl/image:v1')])).stdout) as { descriptors: { digest: string; artifactType: string }[] };
    expect(listed.descriptors).toHaveLength(1);
    const referrer = listed.descriptors[0]!;
    expect(referrer.artifactType).toBe(SIGNATURE_TYPE);

    const api = (await (await marina.fetch(`/v2/regctl/image/referrers/${fx.image.manifest.digest}`)).json()) as { manifests: { digest: string }[] };
    expect(api.manifests.map((m) => m.digest)).toEqual([referrer.digest]);
    const manifest = await getManifest(marina, 'regctl/image', referrer.digest);
    expect(manifest.json.subject.digest).toBe(fx.image.manifest.digest);
    expect(manifest.json.annotations['test.marina']).toBe('regctl');

    const out = path.join(tempDir('regctl-out'), 'artifact.json');
    await regctl(['artifact', 'get', `${ref('regctl/image')}@${referrer.digest}`], { stdoutPath: out });
    expect(sameBytes(new Uint8Array(fs.readFileSync(out)), new Uint8Array(fs.readFileSync(file)))).toBe(true);

    await regctl(['image', 'copy', '--referrers', ref('regctl/image:v1'), ref('regctl/image-copy:v1')]);
    const copied = JSON.parse((await regctl(['artifact', 'list', '--format', '{{json .}}', ref('regctl/image-copy:v1')])).stdout) as { descriptors: { digest: string }[] };
    expect(copied.descriptors.map((d) => d.digest)).toEqual([referrer.digest]);
  });

  test('the registry logged no unexpected errors', () => {
    expect(marina.errors()).toEqual([]);
  });
});

describe('regctl against --no-referrers (tag schema fallback)', () => {
  let marina: Marina;
  let regctl: Awaited<ReturnType<typeof regctlFor>>;
  const ref = (r: string) => `${marina.host}/${r}`;

  beforeAll(async () => {
    marina = await startMarina({ referrers: false });
    regctl = await regctlFor(marina);
  }, HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await marina?.stop();
  }, HOOK_TIMEOUT_MS);

  test('artifact put --subject writes a sha256-<hex> index and artifact list reads it', async () => {
    await regctl(['image', 'copy', `ocidir://${fx.layouts.image}:latest`, ref('regctl/image:v1')]);
    await regctl(['artifact', 'put', '--subject', ref('regctl/image:v1'), '--artifact-type', SIGNATURE_TYPE, '--file', fx.signature.payload.path, '--file-media-type', SIGNATURE_TYPE]);
    expect((await marina.fetch(`/v2/regctl/image/referrers/${fx.image.manifest.digest}`)).status).toBe(404);
    const fallback = fx.image.manifest.digest.replace(':', '-');
    const index = await getManifest(marina, 'regctl/image', fallback);
    expect(index.contentType).toBe(MEDIA.ociIndex);
    const listed = JSON.parse((await regctl(['artifact', 'list', '--format', '{{json .}}', ref('regctl/image:v1')])).stdout) as { descriptors: { digest: string; artifactType: string }[] };
    expect(listed.descriptors.map((d) => [d.digest, d.artifactType])).toEqual((index.json.manifests as { digest: string }[]).map((m) => [m.digest, SIGNATURE_TYPE]));
    expect(listed.descriptors).toHaveLength(1);
  });

  test('the registry logged no unexpected errors', () => {
    expect(marina.errors()).toEqual([]);
  });
});
