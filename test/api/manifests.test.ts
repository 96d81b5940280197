/** Manifest push, pull, HEAD, validation, tag parameters, subjects and content negotiation. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { digestOf } from '../../src/oci/digest.ts';
import {
  bytesOf, descriptorOf, DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, expectError, OCI_CONFIG, OCI_INDEX,
  OCI_LAYER, OCI_MANIFEST, randomBytes, streamOf, type Client, type Descriptor,
} from '../helpers/client.ts';
import { openRegistry, type TestRegistry } from '../helpers/registry.ts';

let t: TestRegistry;
let c: Client;
const R = 'man/repo';
let config: Descriptor;
let layer: Descriptor;

beforeAll(async () => {
  t = openRegistry();
  c = t.client;
  const configBytes = bytesOf({ architecture: 'amd64', os: 'linux' });
  const layerBytes = randomBytes(128);
  await c.pushBlob(R, configBytes);
  await c.pushBlob(R, layerBytes);
  config = descriptorOf(OCI_CONFIG, configBytes);
  layer = descriptorOf(OCI_LAYER, layerBytes);
});
afterAll(() => t.close());

function image(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer], ...extra };
}

async function expectManifest(res: Response, bytes: Uint8Array, mediaType: string, method = 'GET'): Promise<void> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(mediaType);
  expect(res.headers.get('content-length')).toBe(String(bytes.byteLength));
  expect(res.headers.get('docker-content-digest')).toBe(digestOf(bytes));
  const body: Uint8Array = new Uint8Array(await res.arrayBuffer());
  if (method === 'HEAD') expect(body.byteLength).toBe(0);
  else expect(body).toEqual(bytes);
}

describe('manifest PUT and GET', () => {
  test('stores a manifest by tag: 201, Location by digest, Docker-Content-Digest; GET returns the exact bytes', async () => {
    // Odd whitespace and key order must survive byte for byte.
    const bytes = bytesOf(`{ "schemaVersion" : 2,\n  "mediaType": "${OCI_MANIFEST}", "layers": [${JSON.stringify(layer)}],\n"config":${JSON.stringify(config)} , "x-extra": [1,2] }\n`);
    const digest = digestOf(bytes);
    const res = await c.putManifest(R, 'v1', bytes, OCI_MANIFEST);
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v2/${R}/manifests/${digest}`);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(res.headers.get('oci-subject')).toBeNull();
    await expectManifest(await c.get(`/v2/${R}/manifests/v1`, { accept: OCI_MANIFEST }), bytes, OCI_MANIFEST);
    await expectManifest(await c.get(`/v2/${R}/manifests/${digest}`), bytes, OCI_MANIFEST);
    await expectManifest(await c.get(res.headers.get('location')!), bytes, OCI_MANIFEST);
  });

  test('HEAD by tag and by digest gives the GET headers with an exact Content-Length and no body', async () => {
    const pushed = await c.pushManifest(R, 'head-me', image({ annotations: { n: 'head' } }), OCI_MANIFEST);
    await expectManifest(await c.head(`/v2/${R}/manifests/head-me`), pushed.bytes, OCI_MANIFEST, 'HEAD');
    await expectManifest(await c.head(`/v2/${R}/manifests/${pushed.digest}`), pushed.bytes, OCI_MANIFEST, 'HEAD');
  });

  test('stores a manifest by digest without creating a tag', async () => {
    const pushed = await c.pushManifest(R, undefined, image({ annotations: { n: 'by-digest' } }), OCI_MANIFEST);
    expect(pushed.response.headers.get('location')).toBe(`/v2/${R}/manifests/${pushed.digest}`);
    await expectManifest(await c.get(`/v2/${R}/manifests/${pushed.digest}`), pushed.bytes, OCI_MANIFEST);
    const tags = (await (await c.get(`/v2/${R}/tags/list`)).json() as any).tags as string[];
    expect(tags).not.toContain(pushed.digest);
  });

  test('stores a manifest by sha512 digest and serves it under that digest', async () => {
    const bytes = bytesOf(image({ annotations: { n: 'sha512' } }));
    const digest = digestOf(bytes, 'sha512');
    const res = await c.putManifest(R, digest, bytes, OCI_MANIFEST);
    expect(res.status).toBe(201);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(res.headers.get('location')).toBe(`/v2/${R}/manifests/${digest}`);
    const got = await c.get(`/v2/${R}/manifests/${digest}`);
    expect(got.headers.get('docker-content-digest')).toBe(digest);
    expect(new Uint8Array(await got.arrayBuffer()) as Uint8Array).toEqual(bytes);
  });

  test('accepts a chunked manifest body with no Content-Length', async () => {
    const bytes = bytesOf(image({ annotations: { n: 'chunked' } }));
    const res = await c.send('PUT', `/v2/${R}/manifests/chunked`, { body: streamOf(bytes.subarray(0, 10), bytes.subarray(10)), headers: { 'content-type': OCI_MANIFEST } });
    expect(res.status).toBe(201);
    await expectManifest(await c.get(`/v2/${R}/manifests/chunked`), bytes, OCI_MANIFEST);
  });

  test('moves a tag to a newer manifest and keeps the old one by digest', async () => {
    const first = await c.pushManifest(R, 'moving', image({ annotations: { n: '1' } }), OCI_MANIFEST);
    const second = await c.pushManifest(R, 'moving', image({ annotations: { n: '2' } }), OCI_MANIFEST);
    await expectManifest(await c.get(`/v2/${R}/manifests/moving`), second.bytes, OCI_MANIFEST);
    await expectManifest(await c.get(`/v2/${R}/manifests/${first.digest}`), first.bytes, OCI_MANIFEST);
  });

  test('answers an unknown tag or digest with 404 MANIFEST_UNKNOWN', async () => {
    await expectError(await c.get(`/v2/${R}/manifests/no-such-tag`), 404, 'MANIFEST_UNKNOWN');
    await expectError(await c.get(`/v2/${R}/manifests/${digestOf('nothing')}`), 404, 'MANIFEST_UNKNOWN');
    expect((await c.head(`/v2/${R}/manifests/no-such-tag`)).status).toBe(404);
  });

  test('answers a pull from a repository that does not exist with 404', async () => {
    const res = await c.get('/v2/man/never-pushed/manifests/latest');
    expect(res.status).toBe(404);
    const { code } = await expectError(res, 404, (await res.clone().json() as any).errors[0].code);
    expect(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']).toContain(code);
  });

  test('keeps manifests per repository', async () => {
    const pushed = await c.pushManifest(R, 'mine', image({ annotations: { n: 'per-repo' } }), OCI_MANIFEST);
    await expectError(await c.get(`/v2/man/other/manifests/${pushed.digest}`), 404, 'MANIFEST_UNKNOWN');
    await expectError(await c.get('/v2/man/other/manifests/mine'), 404, 'MANIFEST_UNKNOWN');
  });

  test('refuses a malformed digest reference with 400 DIGEST_INVALID', async () => {
    await expectError(await c.get(`/v2/${R}/manifests/sha256:nothex`), 400, 'DIGEST_INVALID');
  });

  test('answers GET and HEAD of a reference that can be no tag with 404 MANIFEST_UNKNOWN: nothing can exist there', async () => {
    for (const reference of ['t'.repeat(129), '.hidden', '-bad']) {
      await expectError(await c.get(`/v2/${R}/manifests/${reference}`), 404, 'MANIFEST_UNKNOWN');
      const head = await c.head(`/v2/${R}/manifests/${reference}`);
      expect(head.status).toBe(404);
      expect(await head.text()).toBe('');
    }
  });

  test('refuses a PUT under a reference that is no valid tag with 400 MANIFEST_INVALID', async () => {
    await expectError(await c.putManifest(R, '-bad', image(), OCI_MANIFEST), 400, 'MANIFEST_INVALID');
    await expectError(await c.putManifest(R, 't'.repeat(129), image(), OCI_MANIFEST), 400, 'MANIFEST_INVALID');
  });
});

describe('media types', () => {
  test('serves Content-Type equal to the stored mediaType, without the parameters the client sent', async () => {
    const pushed = image({ annotations: { n: 'params' } });
    const res = await c.putManifest(R, 'params', pushed, `${OCI_MANIFEST}; charset=utf-8`);
    expect(res.status).toBe(201);
    expect((await c.get(`/v2/${R}/manifests/params`)).headers.get('content-type')).toBe(OCI_MANIFEST);
  });

  test('serves a manifest without mediaType as the Content-Type it was pushed with', async () => {
    const { mediaType: _, ...bare } = image({ annotations: { n: 'bare' } });
    const res = await c.putManifest(R, 'bare', bare, OCI_MANIFEST);
    expect(res.status).toBe(201);
    await expectManifest(await c.get(`/v2/${R}/manifests/bare`), bytesOf(bare), OCI_MANIFEST);
  });

  test('refuses a Content-Type naming a different manifest type than the body with 400 MANIFEST_INVALID', async () => {
    const body = image({ annotations: { n: 'mismatch' } });
    await expectError(await c.putManifest(R, 'mismatch', body, OCI_INDEX), 400, 'MANIFEST_INVALID');
    await expectError(await c.putManifest(R, 'mismatch', body, DOCKER_MANIFEST), 400, 'MANIFEST_INVALID');
    await expectError(await c.get(`/v2/${R}/manifests/mismatch`), 404, 'MANIFEST_UNKNOWN');
  });

  test('stores Docker schema2 manifests and manifest lists and serves them as stored', async () => {
    const dockerConfig = bytesOf({ architecture: 'arm64', os: 'linux' });
    const dockerLayer = randomBytes(50);
    await c.pushBlob(R, dockerConfig);
    await c.pushBlob(R, dockerLayer);
    const manifest = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: descriptorOf(DOCKER_CONFIG, dockerConfig),
      layers: [descriptorOf(DOCKER_LAYER, dockerLayer)],
    };
    const m = await c.pushManifest(R, 'docker', manifest, DOCKER_MANIFEST);
    const list = { schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST, manifests: [{ ...m.descriptor, platform: { os: 'linux', architecture: 'arm64' } }] };
    const l = await c.pushManifest(R, 'docker-list', list, DOCKER_MANIFEST_LIST);
    const accept = `${DOCKER_MANIFEST}, ${DOCKER_MANIFEST_LIST}`;
    await expectManifest(await c.get(`/v2/${R}/manifests/docker`, { accept }), m.bytes, DOCKER_MANIFEST);
    await expectManifest(await c.get(`/v2/${R}/manifests/docker-list`, { accept }), l.bytes, DOCKER_MANIFEST_LIST);
    await expectManifest(await c.head(`/v2/${R}/manifests/${l.digest}`, { accept }), l.bytes, DOCKER_MANIFEST_LIST, 'HEAD');
  });

  test('accepts an index of OCI manifests and serves it as an index', async () => {
    const child = await c.pushManifest(R, undefined, image({ annotations: { n: 'child' } }), OCI_MANIFEST);
    const index = await c.pushIndex(R, [child.descriptor], { reference: 'an-index' });
    await expectManifest(await c.get(`/v2/${R}/manifests/an-index`, { accept: OCI_INDEX }), index.bytes, OCI_INDEX);
  });
});

describe('manifest validation', () => {
  test('refuses a manifest whose layer is not in the repository with 400 MANIFEST_BLOB_UNKNOWN and stores nothing', async () => {
    const missing = descriptorOf(OCI_LAYER, randomBytes(10));
    const body = image({ layers: [layer, missing] });
    const error = await expectError(await c.putManifest(R, 'missing-blob', body, OCI_MANIFEST), 400, 'MANIFEST_BLOB_UNKNOWN');
    expect(JSON.stringify(error)).toContain(missing.digest);
    await expectError(await c.get(`/v2/${R}/manifests/missing-blob`), 404, 'MANIFEST_UNKNOWN');
    await expectError(await c.get(`/v2/${R}/manifests/${digestOf(bytesOf(body))}`), 404, 'MANIFEST_UNKNOWN');
  });

  test('refuses a manifest whose config is missing with 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const body = image({ config: descriptorOf(OCI_CONFIG, bytesOf({ other: true })) });
    await expectError(await c.putManifest(R, 'missing-config', body, OCI_MANIFEST), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('refuses a manifest whose blobs exist only in another repository', async () => {
    await expectError(await c.putManifest('man/elsewhere', 'x', image(), OCI_MANIFEST), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('refuses an index whose child manifest is missing with 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const ghost = descriptorOf(OCI_MANIFEST, bytesOf(image({ annotations: { n: 'ghost' } })));
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [ghost] };
    await expectError(await c.putManifest(R, 'ghost-index', index, OCI_INDEX), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('accepts non-distributable layers that were never pushed', async () => {
    const nd = descriptorOf('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', randomBytes(10), { urls: ['https://example.com/l'] });
    const ndNoUrls = descriptorOf('application/vnd.oci.image.layer.nondistributable.v1.tar', randomBytes(11));
    const foreign = descriptorOf('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', randomBytes(12));
    const res = await c.putManifest(R, 'non-distributable', image({ layers: [layer, nd, ndNoUrls, foreign] }), OCI_MANIFEST);
    expect(res.status).toBe(201);
  });

  test('refuses a body whose digest differs from the digest in the URL with 400 DIGEST_INVALID and stores nothing', async () => {
    const body = bytesOf(image({ annotations: { n: 'wrong-digest' } }));
    const claimed = digestOf('something else');
    await expectError(await c.putManifest(R, claimed, body, OCI_MANIFEST), 400, 'DIGEST_INVALID');
    await expectError(await c.get(`/v2/${R}/manifests/${claimed}`), 404, 'MANIFEST_UNKNOWN');
    await expectError(await c.get(`/v2/${R}/manifests/${digestOf(body)}`), 404, 'MANIFEST_UNKNOWN');
  });

  test.each([
    ['invalid JSON', '{"schemaVersion": 2,'],
    ['an empty body', ''],
    ['a JSON array', '[]'],
    ['schemaVersion 1', JSON.stringify({ ...image(), schemaVersion: 1 })],
    ['an image without layers', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {} })],
    ['a descriptor with a bad digest', JSON.stringify(image({ layers: [{ ...layer, digest: 'sha256:1' }] }))],
    ['a descriptor with a negative size', JSON.stringify(image({ layers: [{ ...layer, size: -5 }] }))],
    ['an unsupported mediaType', JSON.stringify(image({ mediaType: 'application/vnd.example+json' }))],
  ])('refuses %s with 400 MANIFEST_INVALID', async (_what, body) => {
    await expectError(await c.putManifest(R, 'invalid', body, OCI_MANIFEST), 400, 'MANIFEST_INVALID');
  });
});

describe('manifest size limit', () => {
  function padded(size: number): Uint8Array {
    const base = image({ annotations: { pad: '' } });
    const overhead = bytesOf(base).byteLength;
    return bytesOf(image({ annotations: { pad: 'x'.repeat(size - overhead) } }));
  }

  test('accepts a manifest of exactly 4 MiB', async () => {
    const bytes = padded(4 * 1024 * 1024);
    expect(bytes.byteLength).toBe(4 * 1024 * 1024);
    expect((await c.putManifest(R, 'four-mib', bytes, OCI_MANIFEST)).status).toBe(201);
    await expectManifest(await c.head(`/v2/${R}/manifests/four-mib`), bytes, OCI_MANIFEST, 'HEAD');
  });

  test('refuses a manifest one byte over 4 MiB with 413', async () => {
    const bytes = padded(4 * 1024 * 1024 + 1);
    await expectError(await c.putManifest(R, 'too-big', bytes, OCI_MANIFEST), 413, 'MANIFEST_INVALID');
    await expectError(await c.get(`/v2/${R}/manifests/too-big`), 404, 'MANIFEST_UNKNOWN');
  });

  test('refuses a chunked manifest past the limit with 413 without reading the rest of the body', async () => {
    let pulled = 0;
    const chunk = new Uint8Array(256 * 1024).fill(0x20);
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Bounded so a registry that reads everything fails the test instead of hanging it.
        if (pulled >= 64 * 1024 * 1024) return controller.close();
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const res = await c.send('PUT', `/v2/${R}/manifests/endless`, { body: endless, headers: { 'content-type': OCI_MANIFEST } });
    await expectError(res, 413, 'MANIFEST_INVALID');
    expect(pulled).toBeLessThan(8 * 1024 * 1024);
  });

  test('honours a smaller configured limit, refusing by the declared Content-Length', async () => {
    const small = openRegistry({ maxManifestSize: 2048 });
    try {
      const res = await small.client.send('PUT', '/v2/small/manifests/x', { body: new Uint8Array(10), headers: { 'content-length': '2049', 'content-type': OCI_MANIFEST } });
      await expectError(res, 413, 'MANIFEST_INVALID');
    } finally {
      await small.close();
    }
  });
});

describe('tag parameters', () => {
  test('PUT by digest with ?tag= creates each tag and echoes it in OCI-Tag', async () => {
    const bytes = bytesOf(image({ annotations: { n: 'tag-params' } }));
    const digest = digestOf(bytes);
    const res = await c.putManifest(R, digest, bytes, OCI_MANIFEST, '?tag=tp1&tag=tp2&tag=tp3');
    expect(res.status).toBe(201);
    const echoed = res.headers.get('oci-tag')!.split(',').map((s) => s.trim());
    expect(echoed.sort()).toEqual(['tp1', 'tp2', 'tp3']);
    for (const tag of ['tp1', 'tp2', 'tp3']) await expectManifest(await c.get(`/v2/${R}/manifests/${tag}`), bytes, OCI_MANIFEST);
  });

  test('accepts at least 10 tag parameters in one request', async () => {
    const bytes = bytesOf(image({ annotations: { n: 'ten-tags' } }));
    const tags = Array.from({ length: 12 }, (_, i) => `many-${i}`);
    const res = await c.putManifest(R, digestOf(bytes), bytes, OCI_MANIFEST, `?${tags.map((t) => `tag=${t}`).join('&')}`);
    expect(res.status).toBe(201);
    expect(res.headers.get('oci-tag')!.split(',').map((s) => s.trim()).sort()).toEqual([...tags].sort());
    const listed = (await (await c.get(`/v2/${R}/tags/list`)).json() as any).tags as string[];
    for (const tag of tags) expect(listed).toContain(tag);
  });

  test('refuses an invalid tag parameter with 400 and creates nothing', async () => {
    const bytes = bytesOf(image({ annotations: { n: 'bad-tag-param' } }));
    await expectError(await c.putManifest(R, digestOf(bytes), bytes, OCI_MANIFEST, '?tag=ok-tag&tag=.bad'), 400, 'MANIFEST_INVALID');
    await expectError(await c.get(`/v2/${R}/manifests/ok-tag`), 404, 'MANIFEST_UNKNOWN');
    await expectError(await c.get(`/v2/${R}/manifests/${digestOf(bytes)}`), 404, 'MANIFEST_UNKNOWN');
  });
});

describe('subject', () => {
  test('a manifest with a subject gets OCI-Subject with the subject digest', async () => {
    const subject = await c.pushManifest(R, 'subject', image({ annotations: { n: 'subject' } }), OCI_MANIFEST);
    const res = await c.putManifest(R, 'with-subject', image({ subject: subject.descriptor }), OCI_MANIFEST);
    expect(res.status).toBe(201);
    expect(res.headers.get('oci-subject')).toBe(subject.digest);
  });

  test('a manifest whose subject does not exist is accepted, with OCI-Subject', async () => {
    const missing = descriptorOf(OCI_MANIFEST, bytesOf('missing content'));
    const res = await c.putManifest(R, 'missing-subject', image({ subject: missing, annotations: { n: 'ms' } }), OCI_MANIFEST);
    expect(res.status).toBe(201);
    expect(res.headers.get('oci-subject')).toBe(missing.digest);
  });

  test('an index with a subject gets OCI-Subject too', async () => {
    const subject = await c.pushManifest(R, undefined, image({ annotations: { n: 'index-subject' } }), OCI_MANIFEST);
    const index = await c.pushIndex(R, [], { subject: subject.descriptor, artifactType: 'application/x.set' });
    expect(index.response.headers.get('oci-subject')).toBe(subject.digest);
  });
});

describe('Accept negotiation', () => {
  let index: Awaited<ReturnType<Client['pushIndex']>>;
  let amd64: Awaited<ReturnType<Client['pushManifest']>>;

  beforeAll(async () => {
    const arm = await c.pushManifest(R, undefined, image({ annotations: { platform: 'arm64' } }), OCI_MANIFEST);
    amd64 = await c.pushManifest(R, undefined, image({ annotations: { platform: 'amd64' } }), OCI_MANIFEST);
    index = await c.pushIndex(
      R,
      [
        { ...arm.descriptor, platform: { os: 'linux', architecture: 'arm64' } },
        { ...amd64.descriptor, platform: { os: 'linux', architecture: 'amd64' } },
      ],
      { reference: 'multi' },
    );
  });

  test('serves the index to a client that accepts indexes, to */* and to a request without Accept', async () => {
    for (const accept of [OCI_INDEX, `${OCI_MANIFEST}, ${OCI_INDEX}`, '*/*', DOCKER_MANIFEST_LIST]) {
      await expectManifest(await c.get(`/v2/${R}/manifests/multi`, { accept }), index.bytes, OCI_INDEX);
    }
    await expectManifest(await c.get(`/v2/${R}/manifests/multi`), index.bytes, OCI_INDEX);
  });

  test('serves the linux/amd64 image to a client asking by tag that accepts only image manifests', async () => {
    await expectManifest(await c.get(`/v2/${R}/manifests/multi`, { accept: OCI_MANIFEST }), amd64.bytes, OCI_MANIFEST);
    await expectManifest(await c.head(`/v2/${R}/manifests/multi`, { accept: `${OCI_MANIFEST};q=0.9` }), amd64.bytes, OCI_MANIFEST, 'HEAD');
  });

  test('serves the index as stored when asked for by digest, whatever the Accept, so the bytes match the digest', async () => {
    await expectManifest(await c.get(`/v2/${R}/manifests/${index.digest}`, { accept: OCI_MANIFEST }), index.bytes, OCI_INDEX);
    await expectManifest(await c.head(`/v2/${R}/manifests/${index.digest}`, { accept: DOCKER_MANIFEST }), index.bytes, OCI_INDEX, 'HEAD');
  });

  test('serves the index as stored when it has no linux/amd64 image', async () => {
    const arm = await c.pushManifest(R, undefined, image({ annotations: { platform: 'arm-only' } }), OCI_MANIFEST);
    const armOnly = await c.pushIndex(R, [{ ...arm.descriptor, platform: { os: 'linux', architecture: 'arm64' } }], { reference: 'arm-only' });
    await expectManifest(await c.get(`/v2/${R}/manifests/arm-only`, { accept: OCI_MANIFEST }), armOnly.bytes, OCI_INDEX);
  });
});
