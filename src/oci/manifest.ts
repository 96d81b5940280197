/**
 * Manifest and index parsing (image-spec manifest.md, image-index.md, descriptor.md).
 * Pure: bytes in, a checked summary out. The stored bytes are always the uploaded ones, never re-serialised.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { RegistryError } from '../errors.ts';
import { tryParseDigest, type Digest } from './digest.ts';
import { IMAGE_MANIFEST_TYPES, INDEX_TYPES, MANIFEST_TYPES, OCI_INDEX, OCI_MANIFEST, isNonDistributable } from './media-types.ts';

const MEDIA_TYPE = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$' });
const ANNOTATIONS = Type.Record(Type.String(), Type.String());

const DescriptorSchema = Type.Object({
  mediaType: MEDIA_TYPE,
  digest: Type.String(),
  // A size past 2^53 - 1 cannot be compared exactly with a stored blob's size (2^63 would round), so it is refused.
  size: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  urls: Type.Optional(Type.Array(Type.String())),
  annotations: Type.Optional(ANNOTATIONS),
  data: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$' })),
  artifactType: Type.Optional(MEDIA_TYPE),
  platform: Type.Optional(Type.Object({ architecture: Type.String(), os: Type.String() })),
});

const ManifestShape = Type.Object({
  schemaVersion: Type.Literal(2),
  mediaType: Type.Optional(Type.String()),
  artifactType: Type.Optional(MEDIA_TYPE),
  config: Type.Optional(DescriptorSchema),
  layers: Type.Optional(Type.Array(DescriptorSchema)),
  manifests: Type.Optional(Type.Array(DescriptorSchema)),
  subject: Type.Optional(DescriptorSchema),
  annotations: Type.Optional(ANNOTATIONS),
});

// Compiled on the first manifest parsed, not at start: code generation is a few milliseconds of a cold start.
let compiled: ReturnType<typeof TypeCompiler.Compile<typeof ManifestShape>> | undefined;
const shapeCheck = () => (compiled ??= TypeCompiler.Compile(ManifestShape));

/** Deepest JSON nesting accepted: a manifest needs 5 (descriptor → platform → features), annotations add none. */
export const MAX_MANIFEST_DEPTH = 32;

/** Most descriptors (config, layers, child manifests, subject) one manifest may list. */
export const MAX_DESCRIPTORS = 4096;

/** A descriptor whose digest has been checked. */
export type Descriptor = Omit<Static<typeof DescriptorSchema>, 'digest'> & { digest: Digest };

/** What the registry needs to know about a manifest it accepts. */
export interface ParsedManifest {
  /** The media type to store and serve as Content-Type. */
  mediaType: string;
  /** The artifact type listed for it in a referrers response (image manifests fall back to the config type). */
  artifactType?: string;
  /** The manifest this one refers to, if any. */
  subject?: Descriptor;
  /** Top-level annotations, copied into referrers descriptors. */
  annotations?: Record<string, string>;
  /** Blobs that must be present in the repository (config and distributable layers). */
  blobs: Digest[];
  /** Child manifests that must be present in the repository (index entries). */
  manifests: Digest[];
  /** The size each required blob and child manifest claims, to be checked against the stored content. */
  sizes: ReferencedSize[];
}

/** A required blob or child manifest with the size its descriptor claims. */
export interface ReferencedSize {
  kind: 'blob' | 'manifest';
  digest: Digest;
  size: number;
  /** Where in the manifest, e.g. `layers[2]`. */
  where: string;
}

/**
 * Parses and validates manifest bytes.
 * @param contentType the request's Content-Type (parameters ignored); it must agree with a `mediaType` in the body.
 * @throws RegistryError MANIFEST_INVALID with a detail naming what is wrong.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest {
  // Callers cap the byte length (maxManifestSize); the depth is checked before JSON.parse so a body of nested
  // brackets is refused in one linear pass instead of recursing in the parser and the schema check.
  if (jsonDepth(bytes) > MAX_MANIFEST_DEPTH) throw invalid(`manifest nests deeper than ${MAX_MANIFEST_DEPTH} levels`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw invalid('manifest is not valid UTF-8 JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('manifest must be a JSON object');
  const checkShape = shapeCheck();
  if (!checkShape.Check(json)) {
    const first = checkShape.Errors(json).First();
    throw invalid(first ? `${first.path || '/'}: ${first.message}` : 'manifest does not match the image-spec schema');
  }
  const body = json as Static<typeof ManifestShape>;
  const mediaType = effectiveMediaType(body, normaliseContentType(contentType));
  const isIndex = INDEX_TYPES.has(mediaType);

  if (isIndex) {
    if (!body.manifests) throw invalid('an index must list "manifests"');
    if (body.config || body.layers) throw invalid('an index must not have "config" or "layers"');
  } else {
    if (!body.config) throw invalid('an image manifest must have a "config" descriptor');
    if (!body.layers) throw invalid('an image manifest must list "layers"');
    if (body.manifests) throw invalid('an image manifest must not list "manifests"');
  }

  const count = (body.config ? 1 : 0) + (body.layers?.length ?? 0) + (body.manifests?.length ?? 0) + (body.subject ? 1 : 0);
  if (count > MAX_DESCRIPTORS) throw invalid(`manifest lists ${count} descriptors, more than ${MAX_DESCRIPTORS}`);

  const blobs: Digest[] = [];
  const manifests: Digest[] = [];
  const sizes: ReferencedSize[] = [];
  const requireBlob = (d: Descriptor, where: string) => {
    blobs.push(d.digest);
    sizes.push({ kind: 'blob', digest: d.digest, size: d.size, where });
  };
  if (body.config) requireBlob(checkDescriptor(body.config, 'config'), 'config');
  for (const [i, layer] of (body.layers ?? []).entries()) {
    const d = checkDescriptor(layer, `layers[${i}]`);
    // Non-distributable and URL-backed layers are, by image-spec, not required to be in the registry.
    if (!isNonDistributable(d.mediaType) && !d.urls?.length) requireBlob(d, `layers[${i}]`);
  }
  for (const [i, child] of (body.manifests ?? []).entries()) {
    const d = checkDescriptor(child, `manifests[${i}]`);
    manifests.push(d.digest);
    sizes.push({ kind: 'manifest', digest: d.digest, size: d.size, where: `manifests[${i}]` });
  }

  const parsed: ParsedManifest = { mediaType, blobs, manifests, sizes };
  const artifactType = body.artifactType ?? (isIndex ? undefined : body.config?.mediaType);
  if (artifactType !== undefined) parsed.artifactType = artifactType;
  if (body.subject) parsed.subject = checkDescriptor(body.subject, 'subject');
  if (body.annotations) parsed.annotations = body.annotations;
  return parsed;
}

/**
 * The deepest nesting of arrays and objects in JSON text, by one pass that skips string contents. Works on bytes
 * that are not JSON too (it only counts), so it can run before JSON.parse.
 */
export function jsonDepth(bytes: Uint8Array): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === 0x5c /* \ */) i++;
      else if (b === 0x22 /* " */) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x7b || b === 0x5b /* { [ */) {
      if (++depth > deepest) deepest = depth;
    } else if (b === 0x7d || b === 0x5d /* } ] */) depth--;
  }
  return deepest;
}

/** Strips parameters and case from a Content-Type header value. */
export function normaliseContentType(value: string | undefined | null): string | undefined {
  if (!value) return undefined;
  // A media type is at most 127 + 1 + 127 characters (RFC 6838 §4.2); the rest is parameters or junk.
  const bare = value.slice(0, 512).split(';', 1)[0]!.trim().toLowerCase();
  return bare || undefined;
}

function effectiveMediaType(body: Static<typeof ManifestShape>, contentType: string | undefined): string {
  if (body.mediaType !== undefined) {
    if (!MANIFEST_TYPES.has(body.mediaType)) throw invalid(`unsupported manifest media type ${body.mediaType}`);
    if (contentType && MANIFEST_TYPES.has(contentType) && contentType !== body.mediaType) {
      throw invalid(`Content-Type ${contentType} does not match the manifest's mediaType ${body.mediaType}`);
    }
    return body.mediaType;
  }
  if (contentType && MANIFEST_TYPES.has(contentType)) return contentType;
  // No mediaType anywhere: infer it from the shape, as image-spec allows for OCI manifests.
  return body.manifests ? OCI_INDEX : OCI_MANIFEST;
}

function checkDescriptor(d: Static<typeof DescriptorSchema>, where: string): Descriptor {
  if (!tryParseDigest(d.digest)) throw invalid(`${where}: invalid or unsupported digest ${d.digest.slice(0, 150)}`);
  return d as Descriptor;
}

function invalid(reason: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', `manifest invalid: ${reason}`, { detail: { reason } });
}

/** True when `mediaType` is an image manifest (config + layers) rather than an index. */
export function isImageManifest(mediaType: string): boolean {
  return IMAGE_MANIFEST_TYPES.has(mediaType);
}
