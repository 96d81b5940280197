/** OCI image manifests for the data set, serialised once so every target stores identical bytes. */

/** OCI media types used by the data set. */
export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  empty: 'application/vnd.oci.empty.v1+json',
} as const;

/** The Accept header a pulling client sends (Distribution 2.8 hides OCI manifests from clients that omit it). */
export const MANIFEST_ACCEPT = `${MEDIA.manifest}, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json`;

/** An OCI descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A manifest ready to store: its exact bytes and what indexes need to know about it. */
export interface ManifestDoc {
  repo: string;
  digest: string;
  bytes: Uint8Array;
  mediaType: string;
  /** Tags pointing at it (may be empty). */
  tags: string[];
  /** Digest of the manifest it refers to, when it is a referrer. */
  subject?: string;
  artifactType?: string;
}

/** Builds an image manifest (optionally an artifact with a subject) in `repo`. */
export function imageManifest(
  repo: string,
  config: Descriptor,
  layers: Descriptor[],
  options: { tags?: string[]; annotations?: Record<string, string>; subject?: Descriptor; artifactType?: string } = {},
): ManifestDoc {
  const body: Record<string, unknown> = { schemaVersion: 2, mediaType: MEDIA.manifest };
  if (options.artifactType) body.artifactType = options.artifactType;
  body.config = config;
  body.layers = layers;
  if (options.subject) body.subject = options.subject;
  if (options.annotations) body.annotations = options.annotations;
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  const doc: ManifestDoc = { repo, digest: sha256(bytes), bytes, mediaType: MEDIA.manifest, tags: options.tags ?? [] };
  if (options.subject) doc.subject = options.subject.digest;
  if (options.artifactType) doc.artifactType = options.artifactType;
  return doc;
}

/** `sha256:<hex>` of bytes in memory. */
export function sha256(bytes: Uint8Array | string): string {
  const h = new Bun.CryptoHasher('sha256');
  h.update(bytes);
  return `sha256:${h.digest('hex')}`;
}
