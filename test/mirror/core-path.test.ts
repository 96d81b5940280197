/**
 * Mirrored reads go through core's read operations: the same link checks and the same events as local reads, with
 * the cache outcome turned into Cache-Status by the HTTP layer.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { RegistryEvent } from '../../src/core/context.ts';
import { getManifest, serveRegistry, sha256, type Served } from './support/harness.ts';
import { pushImage, randomImage } from './support/images.ts';

let upstream: Served;
let mirror: Served;
const pulls: RegistryEvent[] = [];
const image = randomImage([5000], 'events');

beforeAll(async () => {
  upstream = serveRegistry();
  await pushImage(upstream.url, 'team/app', 'v1', image);
  mirror = serveRegistry({ mirror: { upstreams: [{ name: 'up.test', url: upstream.url }] }, events: { onPull: (e) => void pulls.push(e) } });
});

afterAll(async () => {
  await mirror?.close();
  await upstream?.close();
});

test('pulling through the mirror emits onPull for the manifest and each blob, miss or hit, and none for HEAD', async () => {
  for (const round of ['miss', 'hit']) {
    pulls.splice(0);
    const manifest = await getManifest(mirror, 'up.test/team/app', 'v1');
    expect(sha256(new Uint8Array(await manifest.arrayBuffer()))).toBe(image.digest);
    for (const blob of image.blobs) {
      const head = await mirror.fetch(`/v2/up.test/team/app/blobs/${blob.digest}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      const res = await mirror.fetch(`/v2/up.test/team/app/blobs/${blob.digest}`);
      expect(res.headers.get('cache-status')).toBe(round === 'miss' ? 'marina; fwd=miss' : 'marina; hit');
      expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(blob.digest);
    }
    const seen = pulls.map((e) => [e.kind, e.repository, e.digest, e.size]);
    expect({ round, seen }).toEqual({
      round,
      seen: [
        ['manifest', 'up.test/team/app', image.digest, image.manifest.byteLength],
        ...image.blobs.map((b) => ['blob', 'up.test/team/app', b.digest, b.bytes.byteLength]),
      ],
    });
  }
});
