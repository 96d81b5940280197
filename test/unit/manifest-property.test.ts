/**
 * Property tests of manifest parsing: arbitrary JSON, nested brackets, huge descriptor lists and long strings are
 * refused with MANIFEST_INVALID (or accepted) within a time bound, and a generated valid manifest parses to exactly
 * the blobs, children and sizes it lists.
 */
import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { RegistryError } from '../../src/errors.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { jsonDepth, MAX_DESCRIPTORS, MAX_MANIFEST_DEPTH, parseManifest } from '../../src/oci/manifest.ts';
import { OCI_CONFIG, OCI_INDEX, OCI_MANIFEST } from '../../src/oci/media-types.ts';
import { outcome, withinTime } from '../support/property.ts';

const encoder = new TextEncoder();
const MiB = 1024 * 1024;
/** Time bound for manifests up to 4 MiB (the default maxManifestSize): JSON.parse alone takes a few ms per MiB. */
const LIMIT_MS = 250;

function parseOutcome(body: string | Uint8Array, contentType?: string) {
  const bytes = typeof body === 'string' ? encoder.encode(body) : body;
  return withinTime(LIMIT_MS, () => outcome(() => parseManifest(bytes, contentType)));
}

function expectInvalid(result: ReturnType<typeof parseOutcome>): void {
  expect(result.ok).toBe(false);
  const error = (result as { error: unknown }).error;
  expect(error).toBeInstanceOf(RegistryError);
  expect((error as RegistryError).code).toBe('MANIFEST_INVALID');
}

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

const digestArb = fc.uint8Array({ maxLength: 16 }).map((b) => digestOf(b));
const descriptorArb = fc.record({ mediaType: fc.constantFrom('application/vnd.oci.image.layer.v1.tar+gzip', 'application/octet-stream'), digest: digestArb, size: fc.maxSafeNat() });

describe('manifest parsing', () => {
  test('a generated image manifest parses to its config and layers with their sizes (round trip)', () => {
    fc.assert(
      fc.property(descriptorArb, fc.array(descriptorArb, { maxLength: 20 }), (config, layers) => {
        const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...config, mediaType: OCI_CONFIG }, layers };
        const parsed = parseManifest(encoder.encode(JSON.stringify(manifest)), OCI_MANIFEST);
        expect(parsed.blobs).toEqual([config.digest, ...layers.map((l) => l.digest)]);
        expect(parsed.sizes.map((s) => s.size)).toEqual([config.size, ...layers.map((l) => l.size)]);
        expect(parsed.manifests).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  test('a generated index parses to its children with their sizes', () => {
    fc.assert(
      fc.property(fc.array(descriptorArb, { maxLength: 20 }), (children) => {
        const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((c) => ({ ...c, mediaType: OCI_MANIFEST })) };
        const parsed = parseManifest(encoder.encode(JSON.stringify(index)), OCI_INDEX);
        expect(parsed.manifests).toEqual(children.map((c) => c.digest));
        expect(parsed.sizes).toEqual(children.map((c, i) => ({ kind: 'manifest', digest: c.digest, size: c.size, where: `manifests[${i}]` })));
      }),
      { numRuns: 200 },
    );
  });

  test('arbitrary JSON and arbitrary bytes are refused with MANIFEST_INVALID or accepted, never another error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'), fc.string({ maxLength: 200 })), (body) => {
        const result = parseOutcome(body);
        if (!result.ok) expectInvalid(result);
      }),
      { numRuns: 500 },
    );
  });

  test('refuses sizes that are not safe integers, and negative or fractional ones', () => {
    for (const size of ['9223372036854775808', '9007199254740992', '-1', '1.5', '1e400']) {
      const body = `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"${OCI_CONFIG}","digest":"${digestOf('c')}","size":${size}},"layers":[]}`;
      expectInvalid(parseOutcome(body));
    }
  });

  test('jsonDepth measures nesting exactly, ignoring brackets inside strings', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => expect(jsonDepth(encoder.encode(JSON.stringify(v) ?? 'null'))).toBe(depthOf(v))), { numRuns: 500 });
  });

  test('hostile shapes up to 4 MiB are answered within the time bound', () => {
    const deep = (open: string, close: string, n: number) => open.repeat(n) + close.repeat(n);
    const descriptor = `{"mediaType":"application/octet-stream","digest":"${digestOf('x')}","size":1}`;
    const hostile = [
      deep('[', ']', 2 * MiB),
      deep('{"a":', '}', 500_000),
      `{"schemaVersion":2,"annotations":${deep('[', ']', MAX_MANIFEST_DEPTH + 1)}}`,
      `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":${descriptor},"layers":[${Array(MAX_DESCRIPTORS + 1).fill(descriptor).join(',')}]}`,
      `{"schemaVersion":2,"mediaType":"${'a'.repeat(3 * MiB)}"}`,
      `{"schemaVersion":2,"x":"${'\\\\'.repeat(MiB)}`,
      ' '.repeat(4 * MiB),
      `{"schemaVersion":2,"annotations":{${Array.from({ length: 100_000 }, (_, i) => `"k${i}":"${'v'.repeat(10)}"`).join(',')}}}`,
    ];
    for (const body of hostile) expectInvalid(parseOutcome(body, OCI_MANIFEST));
    const wide = `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":${descriptor},"layers":[${Array(MAX_DESCRIPTORS - 1).fill(descriptor).join(',')}]}`;
    expect(parseOutcome(wide, OCI_MANIFEST).ok).toBe(true);
  });
});
