/**
 * What the web page shows about one stored manifest: its kind, total size, platforms and a push time, read from
 * the index's manifest record. Manifest bodies are parsed leniently here (they were validated on push); a body
 * that no longer parses is shown as such rather than failing the page.
 */
import type { MetadataIndex, ManifestRecord } from '../storage/types.ts';
import type { Digest } from '../oci/digest.ts';
import { INDEX_TYPES, OCI_CONFIG } from '../oci/media-types.ts';

const IMAGE_CONFIG_TYPES: ReadonlySet<string> = new Set([OCI_CONFIG, 'application/vnd.docker.container.image.v1+json']);

/** Child manifests of an index looked at for its size and push time. */
export const MAX_INDEX_CHILDREN = 32;

/** A descriptor as the page shows it. */
export interface DescriptorView {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  platform?: string;
  annotations?: Record<string, string>;
}

/** The parts of a manifest body the page reads. */
export interface ManifestBody {
  config?: DescriptorView;
  layers: DescriptorView[];
  manifests: DescriptorView[];
  subject?: DescriptorView;
  annotations?: Record<string, string>;
  artifactType?: string;
}

/** A tag's or manifest's row: sizes and platforms. */
export interface ImageFacts {
  digest: string;
  mediaType: string;
  artifactType?: string;
  /** Manifest bytes plus config and layers; for an index, the sum over its (first {@link MAX_INDEX_CHILDREN}) images. */
  size: number;
  /** `os/architecture[/variant]` of each index entry. */
  platforms?: string[];
  /**
   * When the newest blob of the image was linked into the repository (ms). The index keeps no manifest push time,
   * so this is the upload time of the image's content: a re-tag or a re-push of existing content does not move it.
   */
  pushedAt?: number;
  /** True when the body could not be read. */
  unreadable?: boolean;
}

/** Parses a stored manifest body; undefined when it is not a JSON object. */
export function readBody(record: ManifestRecord): ManifestBody | undefined {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(record.body));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const body = json as Record<string, unknown>;
  const list = (value: unknown) => (Array.isArray(value) ? value.map(descriptor).filter((d): d is DescriptorView => d !== undefined) : []);
  return {
    config: descriptor(body.config),
    layers: list(body.layers),
    manifests: list(body.manifests),
    subject: descriptor(body.subject),
    annotations: stringRecord(body.annotations),
    artifactType: typeof body.artifactType === 'string' ? body.artifactType : undefined,
  };
}

function descriptor(value: unknown): DescriptorView | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const d = value as Record<string, unknown>;
  if (typeof d.digest !== 'string' || typeof d.mediaType !== 'string') return undefined;
  const view: DescriptorView = { mediaType: d.mediaType, digest: d.digest, size: typeof d.size === 'number' ? d.size : 0 };
  if (typeof d.artifactType === 'string') view.artifactType = d.artifactType;
  const p = d.platform as Record<string, unknown> | undefined;
  if (p && typeof p.os === 'string' && typeof p.architecture === 'string') {
    view.platform = [p.os, p.architecture, typeof p.variant === 'string' ? p.variant : ''].filter(Boolean).join('/');
  }
  const annotations = stringRecord(d.annotations);
  if (annotations) view.annotations = annotations;
  return view;
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Link times of a repository's blobs: one range scan of its links, shared by every row of a page. */
export async function linkTimes(index: MetadataIndex, repository: string): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  for (const { digest, linkedAt } of await index.listBlobLinks(repository)) times.set(digest, linkedAt);
  return times;
}

/** Facts about the manifest `digest` of `repository`; undefined when it is not stored. */
export async function imageFacts(index: MetadataIndex, repository: string, digest: Digest, links: Map<string, number>): Promise<ImageFacts | undefined> {
  const record = await index.getManifest(repository, digest);
  if (!record) return undefined;
  const facts: ImageFacts = { digest: record.digest, mediaType: record.mediaType, size: record.size };
  // An image's config media type stands in for a missing artifactType in the index; only real artifact types are shown.
  if (record.artifactType && !IMAGE_CONFIG_TYPES.has(record.artifactType)) facts.artifactType = record.artifactType;
  const body = readBody(record);
  if (!body) return { ...facts, unreadable: true };
  if (INDEX_TYPES.has(record.mediaType)) {
    facts.platforms = body.manifests.map((m) => m.platform ?? m.artifactType ?? 'unknown');
    for (const child of body.manifests.slice(0, MAX_INDEX_CHILDREN)) {
      const inner = await index.getManifest(repository, child.digest as Digest);
      const innerBody = inner && readBody(inner);
      facts.size += child.size + (innerBody ? blobBytes(innerBody) : 0);
      if (innerBody) facts.pushedAt = newest(facts.pushedAt, innerBody, links);
    }
  } else {
    facts.size += blobBytes(body);
    facts.pushedAt = newest(undefined, body, links);
  }
  return facts;
}

function blobBytes(body: ManifestBody): number {
  return (body.config?.size ?? 0) + body.layers.reduce((sum, l) => sum + l.size, 0);
}

function newest(current: number | undefined, body: ManifestBody, links: Map<string, number>): number | undefined {
  let at = current;
  for (const d of [body.config, ...body.layers]) {
    const t = d && links.get(d.digest);
    if (t && (at === undefined || t > at)) at = t;
  }
  return at;
}
