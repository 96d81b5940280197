/**
 * Protocol details hostile or sloppy clients hit: descriptor sizes that lie, repeated paging parameters, deletes in
 * unknown repositories, conditional requests, and request targets past the length limit.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { digestOf } from '../../src/oci/digest.ts';
import {
  bytesOf, descriptorOf, expectError, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, randomBytes, type Client, type Descriptor,
} from '../helpers/client.ts';
import { openRegistry, type TestRegistry } from '../helpers/registry.ts';

// The documented limit (src/http/paths.ts MAX_TARGET_LENGTH), spelled out so this file also runs against older code.
const MAX_TARGET_LENGTH = 8192;
let t: TestRegistry;
let c: Client;
const R = 'details/repo';
let config: Descriptor;
let layer: Descriptor;

beforeAll(async () => {
  t = openRegistry();
  c = t.client;
  const configBytes = bytesOf({ architecture: 'amd64', os: 'linux' });
  const layerBytes = randomBytes(2048);
  await c.pushBlob(R, configBytes);
  await c.pushBlob(R, layerBytes);
  config = descriptorOf(OCI_CONFIG, configBytes);
  layer = descriptorOf(OCI_LAYER, layerBytes);
});
afterAll(() => t.close());

function image(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer], ...extra };
}

/** Pushes `body` under `tag`, expects `status`/`code`, and checks that neither the tag nor the digest was stored. */
async function expectRefused(body: Record<string, unknown>, tag: string, status: number, code: string, contentType = OCI_MANIFEST) {
  const error = await expectError(await c.putManifest(R, tag, body, contentType), status, code);
  await expectError(await c.get(`/v2/${R}/manifests/${tag}`), 404, 'MANIFEST_UNKNOWN');
  await expectError(await c.get(`/v2/${R}/manifests/${digestOf(bytesOf(body))}`), 404, 'MANIFEST_UNKNOWN');
  return error;
}

describe('descriptor sizes', () => {
  test('refuses a layer descriptor one byte short of the stored blob with 400 MANIFEST_INVALID and stores nothing', async () => {
    const error = await expectRefused(image({ layers: [{ ...layer, size: 2047 }] }), 'short-layer', 400, 'MANIFEST_INVALID');
    expect(error.detail).toMatchObject({ digest: layer.digest, size: 2047, stored: 2048 });
  });

  test('refuses a layer descriptor one byte long, and a wrong config size, the same way', async () => {
    await expectRefused(image({ layers: [{ ...layer, size: 2049 }] }), 'long-layer', 400, 'MANIFEST_INVALID');
    await expectRefused(image({ config: { ...config, size: config.size + 1 } }), 'bad-config', 400, 'MANIFEST_INVALID');
  });

  test('refuses sizes that are no safe integer (2^63, 2^53) with 400 MANIFEST_INVALID', async () => {
    const huge = bytesOf(JSON.stringify(image()).replace(`"size":2048`, '"size":9223372036854775808'));
    expect(new TextDecoder().decode(huge)).toContain('9223372036854775808');
    await expectError(await c.putManifest(R, 'huge-size', huge, OCI_MANIFEST), 400, 'MANIFEST_INVALID');
    await expectError(await c.get(`/v2/${R}/manifests/huge-size`), 404, 'MANIFEST_UNKNOWN');
    await expectRefused(image({ layers: [{ ...layer, size: 2 ** 53 }] }), 'pow53-size', 400, 'MANIFEST_INVALID');
  });

  test('refuses an index whose child descriptor has the wrong size', async () => {
    const child = await c.pushManifest(R, undefined, image({ annotations: { n: 'child' } }), OCI_MANIFEST);
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...child.descriptor, size: child.bytes.byteLength - 1 }] };
    await expectRefused(index, 'bad-index', 400, 'MANIFEST_INVALID', OCI_INDEX);
  });

  test('accepts descriptors whose sizes match the stored content', async () => {
    expect((await c.putManifest(R, 'exact', image(), OCI_MANIFEST)).status).toBe(201);
  });

  test('answers a manifest naming an unknown blob with 400 MANIFEST_BLOB_UNKNOWN, as Distribution does', async () => {
    const ghost = descriptorOf(OCI_LAYER, randomBytes(16));
    const error = await expectRefused(image({ layers: [layer, ghost] }), 'ghost-layer', 400, 'MANIFEST_BLOB_UNKNOWN');
    expect(error.detail.missing).toEqual([ghost.digest]);
  });
});

describe('repeated paging parameters', () => {
  beforeAll(async () => {
    for (const tag of ['a', 'b', 'c']) await c.putManifest(R, tag, image(), OCI_MANIFEST);
  });

  test.each([
    ['n twice in a tags list', `/v2/${R}/tags/list?n=1&n=2`, 'UNSUPPORTED'],
    ['last twice in a tags list', `/v2/${R}/tags/list?last=a&last=b`, 'NAME_INVALID'],
    ['n twice in the catalog', '/v2/_catalog?n=1&n=1', 'UNSUPPORTED'],
    ['last twice in the catalog', `/v2/_catalog?last=a&last=${R}`, 'NAME_INVALID'],
  ])('refuses %s with 400', async (_what, path, code) => {
    const error = await expectError(await c.get(path), 400, code);
    expect(error.message).toContain('repeated');
  });

  test('refuses a repeated artifactType or last on the referrers API with 400', async () => {
    const subject = digestOf('anything');
    await expectError(await c.get(`/v2/${R}/referrers/${subject}?artifactType=a/b&artifactType=c/d`), 400, 'UNSUPPORTED');
    await expectError(await c.get(`/v2/${R}/referrers/${subject}?last=${subject}&last=${subject}`), 400, 'NAME_INVALID');
  });

  test('refuses an artifactType longer than any media type (255 characters) with 400', async () => {
    const subject = digestOf('anything');
    await expectError(await c.get(`/v2/${R}/referrers/${subject}?artifactType=a/${'b'.repeat(300)}`), 400, 'UNSUPPORTED');
    expect((await c.get(`/v2/${R}/referrers/${subject}?artifactType=a/b`)).status).toBe(200);
  });

  test('still pages with single n and last', async () => {
    const res = await c.get(`/v2/${R}/tags/list?n=1&last=a`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { tags: string[] }).tags).toEqual(['b']);
  });
});

describe('conditional requests', () => {
  let digest: string;
  let blobDigest: string;

  beforeAll(async () => {
    const pushed = await c.pushManifest(R, 'cond', image({ annotations: { n: 'cond' } }), OCI_MANIFEST);
    digest = pushed.digest;
    blobDigest = layer.digest;
  });

  test('answers GET and HEAD of a manifest by digest with 304 and no body when If-None-Match holds its ETag', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await c.send(method, `/v2/${R}/manifests/${digest}`, { headers: { 'If-None-Match': `"${digest}"` } });
      expect(res.status).toBe(304);
      expect(res.headers.get('etag')).toBe(`"${digest}"`);
      expect(res.headers.get('docker-content-digest')).toBe(digest);
      expect(await res.text()).toBe('');
    }
  });

  test('answers 304 by tag, for a weak or listed ETag and for *, and 200 for another ETag', async () => {
    const path = `/v2/${R}/manifests/cond`;
    for (const condition of [`"${digest}"`, `W/"${digest}"`, `"sha256:${'0'.repeat(64)}", "${digest}"`, '*']) {
      expect((await c.get(path, { 'If-None-Match': condition })).status).toBe(304);
    }
    const other = await c.get(path, { 'If-None-Match': `"sha256:${'0'.repeat(64)}"` });
    expect(other.status).toBe(200);
    expect(other.headers.get('etag')).toBe(`"${digest}"`);
  });

  test('answers GET and HEAD of a blob with 304 when If-None-Match holds its ETag', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await c.send(method, `/v2/${R}/blobs/${blobDigest}`, { headers: { 'If-None-Match': `"${blobDigest}"` } });
      expect(res.status).toBe(304);
      expect(res.headers.get('etag')).toBe(`"${blobDigest}"`);
      expect(await res.text()).toBe('');
    }
    const ranged = await c.get(`/v2/${R}/blobs/${blobDigest}`, { 'If-None-Match': `"${blobDigest}"`, Range: 'bytes=0-9' });
    expect(ranged.status).toBe(304);
  });

  test('still answers 404 for unknown content whatever If-None-Match says', async () => {
    await expectError(await c.get(`/v2/${R}/manifests/nothing-here`, { 'If-None-Match': '*' }), 404, 'MANIFEST_UNKNOWN');
  });
});

describe('request target length', () => {
  test('refuses a target longer than the limit with 414 and the JSON error body', async () => {
    const error = await expectError(await c.get(`/v2/${R}/tags/list?last=${'a'.repeat(MAX_TARGET_LENGTH)}`), 414, 'UNSUPPORTED');
    expect(error.detail).toEqual({ limit: MAX_TARGET_LENGTH });
  });
});
