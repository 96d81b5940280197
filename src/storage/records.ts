/** Derived records shared by every MetadataIndex implementation. */
import type { ManifestRecord, ReferrerDescriptor } from './types.ts';

/** The referrers-list descriptor of a manifest (distribution-spec "Listing Referrers"). */
export function referrerOf(record: ManifestRecord): ReferrerDescriptor {
  const d: ReferrerDescriptor = { mediaType: record.mediaType, digest: record.digest, size: record.size };
  if (record.artifactType !== undefined) d.artifactType = record.artifactType;
  if (record.annotations !== undefined) d.annotations = record.annotations;
  return d;
}
