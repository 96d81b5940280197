/**
 * Air-gapped seeding: `marina cache export` writes a standard OCI image layout, `marina import` loads it into an
 * empty Marina with every digest identical, skopeo copies out of it, and a tampered blob is refused.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importLayout } from '../../src/layout/import-layout.ts';
import type { Registry } from '../../src/registry.ts';
import { getFixtures } from '../clients/harness.ts';
import { openRegistry, tempDir, type TestRegistry } from '../helpers/registry.ts';
import { runCli, startServer } from '../helpers/server.ts';
import { run, tool } from '../support/commands.ts';
import { pullCompletely, pushReferrer } from './support.ts';

const dirs: string[] = [];
let source: TestRegistry;
let layout: string;
let signature: string;

beforeAll(async () => {
  const fx = getFixtures();
  source = openRegistry();
  await importLayout(source.registry, fx.layouts.index, 'seed/multi');
  await importLayout(source.registry, fx.layouts.image, 'seed/image');
  await importLayout(source.registry, fx.layouts.big, 'seed/big');
  const image = await source.registry.getManifest('seed/image', 'latest');
  const subject = { digest: image.digest as string, body: new TextDecoder().decode(image.body), mediaType: image.mediaType, blobs: new Map() };
  signature = (await pushReferrer(source.registry, 'seed/image', subject, 'a signature of seed/image')).digest;
  await source.close({ keepData: true });
  layout = path.join(tempDir('marina-layout-'), 'seed');
  dirs.push(path.dirname(layout), source.root);
}, 120_000);

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Every manifest digest (per repository) and every blob digest a registry holds. */
async function inventory(registry: Registry): Promise<{ manifests: string[]; blobs: string[]; tags: string[] }> {
  const manifests: string[] = [];
  const blobs = new Set<string>();
  const tags: string[] = [];
  for (const repository of (await registry.listRepositories()).items) {
    for (const d of (await registry.storage.index.listManifestDigests(repository))) manifests.push(`${repository}@${d}`);
    for (const link of (await registry.storage.index.listBlobLinks(repository))) blobs.add(`${repository}@${link.digest}`);
    for (const tag of (await registry.listTags(repository)).items) tags.push(`${repository}:${tag}@${(await registry.getManifest(repository, tag)).digest}`);
  }
  return { manifests: manifests.sort(), blobs: [...blobs].sort(), tags: tags.sort() };
}

describe('export and import of an OCI image layout', () => {
  test('exported then imported into an empty Marina, every tag, manifest, blob and referrer is identical', async () => {
    const exported = await runCli(['cache', 'export', 'seed/multi:latest', 'seed/image:latest', 'seed/big:latest', '--oci-layout', layout, '--data', source.root], {}, 60_000);
    expect(exported.stderr).toBe('');
    expect(exported.stdout).toMatch(/exported 3 images \(\d+ manifests, \d+ blobs, .*\) to /);
    expect(fs.readFileSync(path.join(layout, 'oci-layout'), 'utf8')).toBe('{"imageLayoutVersion":"1.0.0"}');
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] };
    expect(index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name'])).toEqual(['seed/multi:latest', 'seed/image:latest', 'seed/big:latest', undefined]);

    const target = tempDir('marina-import-');
    dirs.push(target);
    const imported = await runCli(['import', layout, '--data', target], {}, 60_000);
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toContain('verified by digest; 3 tags');

    const before = openRegistry({}, source.root);
    const after = openRegistry({}, target);
    try {
      const a = await inventory(before.registry);
      const b = await inventory(after.registry);
      expect(b.tags).toEqual(a.tags);
      expect(b.manifests).toEqual(a.manifests);
      expect(b.blobs).toEqual(a.blobs);
      expect(b.manifests).toContain(`seed/image@${signature}`);
      const subject = (await after.registry.getManifest('seed/image', 'latest')).digest;
      expect((await after.registry.listReferrers('seed/image', subject)).manifests.map((m) => m.digest as string)).toEqual([signature]);
      for (const ref of ['seed/multi', 'seed/image', 'seed/big']) expect(await pullCompletely(after.registry, ref, 'latest')).toBeGreaterThan(0);
    } finally {
      await before.close({ keepData: true });
      await after.close({ keepData: true });
    }
  }, 120_000);

  test('skopeo copies an image out of the exported layout into a registry', async () => {
    const work = tempDir('marina-skopeo-');
    dirs.push(work);
    fs.writeFileSync(path.join(work, 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const data = path.join(work, 'data');
    const single = path.join(work, 'single');
    await runCli(['cache', 'export', 'seed/image:latest', '--oci-layout', single, '--data', source.root], {}, 60_000);
    const server = await startServer(data);
    try {
      const env = { TMPDIR: work, HOME: work };
      await run([tool('skopeo'), '--policy', path.join(work, 'policy.json'), 'copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${single}:seed/image:latest`, `docker://127.0.0.1:${server.port}/copied/image:v1`], { env });
      await run([tool('skopeo'), '--policy', path.join(work, 'policy.json'), 'copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:seed/multi:latest`, `docker://127.0.0.1:${server.port}/copied/multi:v1`], { env });
      const head = (repo: string) => fetch(`${server.url}/v2/${repo}/manifests/v1`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' } });
      const check = openRegistry({}, source.root);
      try {
        expect((await head('copied/image')).headers.get('docker-content-digest')).toBe((await check.registry.getManifest('seed/image', 'latest')).digest);
        expect((await head('copied/multi')).headers.get('docker-content-digest')).toBe((await check.registry.getManifest('seed/multi', 'latest')).digest);
      } finally {
        await check.close({ keepData: true });
      }
    } finally {
      await server.stop();
    }
  }, 120_000);

  test('a blob whose bytes do not match its digest is refused and nothing is tagged', async () => {
    const copy = tempDir('marina-tampered-');
    dirs.push(copy);
    fs.cpSync(layout, copy, { recursive: true });
    const fx = getFixtures();
    const victim = path.join(copy, 'blobs', ...fx.image.layers[1]!.digest.split(':'));
    const bytes = fs.readFileSync(victim);
    bytes[100] = bytes[100]! ^ 0xff;
    fs.writeFileSync(victim, bytes);
    const target = openRegistry();
    try {
      await expect(importLayout(target.registry, copy)).rejects.toThrow(`blob ${fx.image.layers[1]!.digest} in the layout does not match its digest`);
      await expect(target.registry.getManifest('seed/image', 'latest')).rejects.toThrow();
      await expect(target.registry.getBlob('seed/image', fx.image.layers[1]!.digest)).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
    } finally {
      await target.close();
    }
  }, 60_000);
});
