import { describe, expect, test } from 'bun:test';
import { RegistryError } from '../../src/errors.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { isImageManifest, normaliseContentType, parseManifest } from '../../src/oci/manifest.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const CONFIG = 'application/vnd.oci.image.config.v1+json';

const d = (s: string) => digestOf(s);
const config = { mediaType: CONFIG, digest: d('config'), size: 6 };
const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('layer'), size: 5 };
const bytes = (v: unknown) => (v instanceof Uint8Array ? v : new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v)));

function image(extra: Record<string, unknown> = {}) {
  return { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer], ...extra };
}

function invalidReason(body: unknown, contentType?: string): string {
  try {
    parseManifest(bytes(body), contentType);
  } catch (e) {
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).code).toBe('MANIFEST_INVALID');
    expect((e as RegistryError).status).toBe(400);
    return (e as RegistryError).message;
  }
  throw new Error('expected MANIFEST_INVALID');
}

describe('parseManifest', () => {
  test('lists the config and layers of an image manifest as required blobs', () => {
    const parsed = parseManifest(bytes(image()), OCI_MANIFEST);
    expect(parsed.mediaType).toBe(OCI_MANIFEST);
    expect(parsed.blobs).toEqual([config.digest, layer.digest]);
    expect(parsed.manifests).toEqual([]);
  });

  test('falls back to the config media type as the artifact type of an image manifest', () => {
    expect(parseManifest(bytes(image()), OCI_MANIFEST).artifactType).toBe(CONFIG);
    expect(parseManifest(bytes(image({ artifactType: 'application/x.example' })), OCI_MANIFEST).artifactType).toBe('application/x.example');
  });

  test('gives an index no artifact type unless it declares one', () => {
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: d('m'), size: 1 }] };
    const parsed = parseManifest(bytes(index), OCI_INDEX);
    expect(parsed.artifactType).toBeUndefined();
    expect(parsed.manifests).toEqual([d('m')]);
    expect(parsed.blobs).toEqual([]);
    expect(parseManifest(bytes({ ...index, artifactType: 'application/x.set' }), OCI_INDEX).artifactType).toBe('application/x.set');
  });

  test('keeps the subject and the top-level annotations', () => {
    const subject = { mediaType: OCI_MANIFEST, digest: d('subject'), size: 7 };
    const parsed = parseManifest(bytes(image({ subject, annotations: { a: 'b' } })), OCI_MANIFEST);
    expect(parsed.subject?.digest).toBe(subject.digest);
    expect(parsed.annotations).toEqual({ a: 'b' });
  });

  test('does not require non-distributable layers or layers with urls to be present', () => {
    const foreign = { mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', digest: d('nd'), size: 2 };
    const dockerForeign = { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: d('df'), size: 2 };
    const withUrls = { ...layer, digest: d('u'), urls: ['https://example.com/layer'] };
    const parsed = parseManifest(bytes(image({ layers: [foreign, dockerForeign, withUrls, layer] })), OCI_MANIFEST);
    expect(parsed.blobs).toEqual([config.digest, layer.digest]);
  });

  test('infers the media type from the Content-Type when the body has none', () => {
    const { mediaType: _, ...bare } = image();
    expect(parseManifest(bytes(bare), OCI_MANIFEST).mediaType).toBe(OCI_MANIFEST);
    expect(parseManifest(bytes(bare), undefined).mediaType).toBe(OCI_MANIFEST);
    const index = { schemaVersion: 2, manifests: [] };
    expect(parseManifest(bytes(index), undefined).mediaType).toBe(OCI_INDEX);
  });

  test('accepts Docker schema2 manifests and manifest lists as their own types', () => {
    expect(parseManifest(bytes(image({ mediaType: DOCKER_MANIFEST })), DOCKER_MANIFEST).mediaType).toBe(DOCKER_MANIFEST);
    expect(parseManifest(bytes({ schemaVersion: 2, mediaType: DOCKER_LIST, manifests: [] }), DOCKER_LIST).mediaType).toBe(DOCKER_LIST);
  });

  test('ignores Content-Type parameters and case', () => {
    expect(parseManifest(bytes(image()), `${OCI_MANIFEST.toUpperCase()}; charset=utf-8`).mediaType).toBe(OCI_MANIFEST);
  });

  test('rejects a Content-Type naming another manifest type than the body', () => {
    expect(invalidReason(image(), OCI_INDEX)).toContain('does not match');
    expect(invalidReason(image({ mediaType: DOCKER_MANIFEST }), OCI_MANIFEST)).toContain('does not match');
  });

  test.each([
    ['bytes that are not JSON', '{"schemaVersion":2,'],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['a JSON array', [image()]],
    ['a JSON string', '"manifest"'],
    ['JSON null', 'null'],
    ['schemaVersion 1', { ...image(), schemaVersion: 1 }],
    ['a missing schemaVersion', { mediaType: OCI_MANIFEST, config, layers: [] }],
    ['an unsupported mediaType', image({ mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' })],
    ['an image without config', { schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }],
    ['an image without layers', { schemaVersion: 2, mediaType: OCI_MANIFEST, config }],
    ['an image that also lists manifests', image({ manifests: [] })],
    ['an index without manifests', { schemaVersion: 2, mediaType: OCI_INDEX }],
    ['an index with layers', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], layers: [] }],
    ['a descriptor with a malformed digest', image({ layers: [{ ...layer, digest: 'sha256:xyz' }] })],
    ['a descriptor with an unsupported algorithm', image({ config: { ...config, digest: `md5:${'a'.repeat(32)}` } })],
    ['a descriptor with a negative size', image({ layers: [{ ...layer, size: -1 }] })],
    ['a descriptor with a fractional size', image({ layers: [{ ...layer, size: 1.5 }] })],
    ['a descriptor with a string size', image({ layers: [{ ...layer, size: '5' }] })],
    ['a descriptor without a media type', image({ config: { digest: config.digest, size: 6 } })],
    ['a descriptor with a malformed media type', image({ layers: [{ ...layer, mediaType: 'not a type' }] })],
    ['annotations that are not strings', image({ annotations: { a: 1 } })],
    ['a subject with a malformed digest', image({ subject: { mediaType: OCI_MANIFEST, digest: 'nope', size: 1 } })],
    ['data that is not base64', image({ layers: [{ ...layer, data: '!!!' }] })],
  ])('rejects %s as MANIFEST_INVALID', (_what, body) => {
    expect(invalidReason(body, OCI_MANIFEST).length).toBeGreaterThan(0);
  });

  test('keeps a huge malformed digest out of the error message', () => {
    const reason = invalidReason(image({ layers: [{ ...layer, digest: `sha256:${'z'.repeat(100_000)}` }] }), OCI_MANIFEST);
    expect(reason.length).toBeLessThan(400);
  });
});

describe('content types', () => {
  test('normalises a Content-Type to its bare lower-case type', () => {
    expect(normaliseContentType('Application/JSON; charset=utf-8')).toBe('application/json');
    expect(normaliseContentType('')).toBeUndefined();
    expect(normaliseContentType(null)).toBeUndefined();
    expect(normaliseContentType(' ; x=y')).toBeUndefined();
  });

  test('tells image manifests from indexes', () => {
    expect(isImageManifest(OCI_MANIFEST)).toBe(true);
    expect(isImageManifest(DOCKER_MANIFEST)).toBe(true);
    expect(isImageManifest(OCI_INDEX)).toBe(false);
    expect(isImageManifest(DOCKER_LIST)).toBe(false);
  });
});
