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
  size: Type.Integer({ minimum: 0 }),
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

const checkShape = TypeCompiler.Compile(ManifestShape);

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
}

/**
 * Parses and validates manifest bytes.
 * @param contentType the request's Content-Type (parameters ignored); it must agree with a `mediaType` in the body.
 * @throws RegistryError MANIFEST_INVALID with a detail naming what is wrong.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw invalid('manifest is not valid UTF-8 JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('manifest must be a JSON object');
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

  const blobs: Digest[] = [];
  const manifests: Digest[] = [];
  if (body.config) blobs.push(checkDescriptor(body.config, 'config').digest);
  for (const [i, layer] of (body.layers ?? []).entries()) {
    const d = checkDescriptor(layer, `layers[${i}]`);
    // Non-distributable and URL-backed layers are, by image-spec, not required to be in the registry.
    if (!isNonDistributable(d.mediaType) && !d.urls?.length) blobs.push(d.digest);
  }
  for (const [i, child] of (body.manifests ?? []).entries()) manifests.push(checkDescriptor(child, `manifests[${i}]`).digest);

  const parsed: ParsedManifest = { mediaType, blobs, manifests };
  const artifactType = body.artifactType ?? (isIndex ? undefined : body.config?.mediaType);
  if (artifactType !== undefined) parsed.artifactType = artifactType;
  if (body.subject) parsed.subject = checkDescriptor(body.subject, 'subject');
  if (body.annotations) parsed.annotations = body.annotations;
  return parsed;
}

/** Strips parameters and case from a Content-Type header value. */
export function normaliseContentType(value: string | undefined | null): string | undefined {
  if (!value) return undefined;
  const bare = value.split(';', 1)[0]!.trim().toLowerCase();
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
