/**
 * The referrers tag schema (distribution-spec "Referrers Tag Schema"): for registries without the referrers API,
 * the referrers of `<alg>:<hex>` live in an image index tagged `<alg>-<hex>` (alg cut to 32, hex to 64 characters).
 */
import { digestAlgorithm, digestHex, type Digest } from '../oci/digest.ts';
import { OCI_INDEX } from '../oci/media-types.ts';
import type { ReferrerDescriptor } from '../storage/types.ts';

/** The fallback tag holding the referrers of `subject`. */
export function referrersTag(subject: Digest): string {
  return `${digestAlgorithm(subject).slice(0, 32)}-${digestHex(subject).slice(0, 64)}`;
}

/** The descriptors listed in a fallback index body (an empty list for anything unreadable). */
export function readReferrersIndex(body: Uint8Array | undefined): ReferrerDescriptor[] {
  if (!body) return [];
  try {
    const index = JSON.parse(new TextDecoder().decode(body)) as { manifests?: ReferrerDescriptor[] };
    return Array.isArray(index.manifests) ? index.manifests : [];
  } catch {
    return [];
  }
}

/** Serialises a fallback index. */
export function writeReferrersIndex(manifests: ReferrerDescriptor[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
}
