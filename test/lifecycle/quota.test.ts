/** Quotas per repository glob: unique blob bytes, shared layers counted once per repository, 403 DENIED past it. */
import { afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestOf } from '../../src/oci/digest.ts';
import { expectError, OCI_MANIFEST } from '../helpers/client.ts';
import { openRegistry, type TestRegistry } from '../helpers/registry.ts';
import { runCli } from '../helpers/server.ts';
import { pushImage, type Pushed } from './support.ts';

let t: TestRegistry | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const sum = (...images: Pushed[]) => {
  const blobs = new Map<string, number>();
  for (const image of images) for (const [d, s] of image.blobs) blobs.set(d, s);
  return [...blobs.values()].reduce((a, b) => a + b, 0);
};
const BASE = 'b'.repeat(400);

describe('quotas', () => {
  test('pushes up to the quota succeed, the one past it is refused with 403 DENIED naming the quota', async () => {
    t = openRegistry({ quotas: [{ repositories: 'team-a/**', maxBytes: 1000 }] });
    const { registry, client } = t;
    const one = await pushImage(registry, 'team-a/app', 'one', [BASE, 'x'.repeat(150)], 'c1');
    const two = await pushImage(registry, 'team-a/app', 'two', [BASE, 'y'.repeat(200)], 'c2');
    // The base layer is shared by both manifests and counted once.
    expect((await registry.usage('team-a/app'))).toMatchObject({ bytes: sum(one, two), blobs: 5, manifests: 2, quota: { repositories: 'team-a/**', maxBytes: 1000 } });
    expect(sum(one, two)).toBeLessThanOrEqual(1000);

    // Blobs upload (the quota counts manifests' references), the manifest that would reference them is refused.
    const layer = 'z'.repeat(1000 - sum(one, two) + 1 - 24);
    const config = new TextEncoder().encode('{"seed":"c3 past quota"}');
    await registry.putBlob('team-a/app', config);
    await registry.putBlob('team-a/app', new TextEncoder().encode(layer));
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.byteLength },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(new TextEncoder().encode(layer)), size: layer.length }],
    });
    expect(sum(one, two) + config.byteLength + layer.length).toBe(1001);
    const error = await expectError(await client.putManifest('team-a/app', 'three', manifest, OCI_MANIFEST), 403, 'DENIED');
    expect(error.message).toContain('quota exceeded: repositories "team-a/**" may use 1000 bytes');
    expect(error.detail).toMatchObject({ quota: 'team-a/**', maxBytes: 1000, usedBytes: sum(one, two), addedBytes: 1001 - sum(one, two) });
    expect((await registry.listTags('team-a/app')).items).toEqual(['one', 'two']);

    // Tagging content already counted adds nothing and is allowed at the limit; a repository without a quota is free.
    expect((await client.putManifest('team-a/app', 'again', one.body, OCI_MANIFEST)).status).toBe(201);
    await pushImage(registry, 'team-b/app', 'big', ['q'.repeat(5000)]);
    expect((await registry.usage('team-b/app')).quota).toBeUndefined();

    // Deleting a manifest frees its unique blobs; then the refused push fits.
    await registry.deleteManifest('team-a/app', two.digest);
    expect((await registry.usage('team-a/app')).bytes).toBe(sum(one));
    expect((await client.putManifest('team-a/app', 'three', manifest, OCI_MANIFEST)).status).toBe(201);
  });

  test('layers shared between repositories count once in each repository', async () => {
    t = openRegistry({ quotas: [{ repositories: 'team-a/*', maxBytes: 700 }] });
    const { registry } = t;
    const a = await pushImage(registry, 'team-a/one', 'v1', [BASE, 'a'.repeat(100)], 'ca');
    const b = await pushImage(registry, 'team-a/two', 'v1', [BASE, 'b'.repeat(100)], 'cb');
    expect((await registry.usage('team-a/one')).bytes).toBe(sum(a));
    expect((await registry.usage('team-a/two')).bytes).toBe(sum(b));
    expect(sum(a)).toBeGreaterThan(500);
    // 400 shared bytes again in team-a/two would not fit twice there; once is fine.
    const c = await pushImage(registry, 'team-a/two', 'v2', [BASE, 'c'.repeat(50)], 'cc');
    expect((await registry.usage('team-a/two')).bytes).toBe(sum(b, c));
    await expect(pushImage(registry, 'team-a/two', 'v3', [BASE, 'd'.repeat(200)], 'cd')).rejects.toMatchObject({ code: 'DENIED' });
  });

  test('concurrent pushes that each fit alone but not together: exactly one is accepted', async () => {
    t = openRegistry({ quotas: [{ repositories: '**', maxBytes: 1000 }] });
    const { registry } = t;
    const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => pushImage(registry, 'race', `t${i}`, [String(i).repeat(600)], `c${i}`)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['DENIED', 'DENIED', 'DENIED']);
    expect((await registry.usage('race')).bytes).toBeLessThanOrEqual(1000);
  });
});

describe('marina usage', () => {
  test('lists each repository with its unique blob bytes and its quota', async () => {
    t = openRegistry();
    const a = await pushImage(t.registry, 'team-a/app', 'v1', [BASE, 'a'.repeat(100)], 'ca');
    const b = await pushImage(t.registry, 'team-a/app', 'v2', [BASE, 'b'.repeat(100)], 'cb');
    await pushImage(t.registry, 'other', 'v1', [BASE]);
    await t.close({ keepData: true });
    const config = path.join(t.root, 'marina.json');
    fs.writeFileSync(config, JSON.stringify({ quotas: [{ repositories: 'team-a/**', maxSize: '1KiB' }] }));
    const result = await runCli(['usage', '--data', t.root, '--config', config]);
    expect(result.stderr).toBe('');
    const lines = result.stdout.split('\n');
    expect(lines.find((l) => l.endsWith('  team-a/app'))).toMatch(new RegExp(`^ *${sum(a, b)} B +5 blobs +2 manifests  quota 1\\.0 KiB \\(${Math.round((100 * sum(a, b)) / 1024)}%, rule "team-a/\\*\\*"\\)  team-a/app$`));
    expect(lines.find((l) => l.endsWith('  other'))).toContain('quota -');
    const one = await runCli(['usage', 'other', '--data', t.root]);
    expect(one.stdout).toContain('1 repositories');
  });
});
