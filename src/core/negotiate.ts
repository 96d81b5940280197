/**
 * Accept negotiation for manifests. Marina keeps one representation per digest, so the only choice is for an index
 * asked for by a client that accepts only image manifests: it gets the linux/amd64 image when the repository has it,
 * as Docker-era registries do. Everything else is served as stored.
 */
import { INDEX_TYPES, IMAGE_MANIFEST_TYPES } from '../oci/media-types.ts';
import { tryParseDigest } from '../oci/digest.ts';
import { andThen } from '../storage/maybe.ts';
import type { ManifestRecord, MaybePromise } from '../storage/types.ts';
import type { CoreContext } from './context.ts';

/** The record to serve for an Accept header. */
export function negotiate(ctx: CoreContext, repository: string, record: ManifestRecord, accept: string | null): MaybePromise<ManifestRecord> {
  if (!accept || !INDEX_TYPES.has(record.mediaType)) return record;
  const accepted = acceptedTypes(accept);
  const wantsIndex = accepted.some((t) => t === record.mediaType || t === '*/*' || t === 'application/*' || INDEX_TYPES.has(t));
  const wantsImage = accepted.some((t) => IMAGE_MANIFEST_TYPES.has(t));
  if (wantsIndex || !wantsImage) return record;
  const child = defaultPlatformChild(record);
  return child ? andThen(ctx.index.getManifest(repository, child), (found) => found ?? record) : record;
}

/** Longest Accept value read; clients send a handful of media types, a few hundred characters in all. */
export const MAX_ACCEPT_LENGTH = 4096;

/**
 * The media types an Accept header lists, lower-cased and without parameters. Capped before splitting: a longer
 * header counts as accepting anything (the stored representation is served).
 */
export function acceptedTypes(accept: string): string[] {
  if (accept.length > MAX_ACCEPT_LENGTH) return ['*/*'];
  return accept.split(',').map((part) => part.split(';', 1)[0]!.trim().toLowerCase());
}

function defaultPlatformChild(record: ManifestRecord): ReturnType<typeof tryParseDigest> {
  try {
    const index = JSON.parse(new TextDecoder().decode(record.body)) as { manifests?: { digest?: string; platform?: { os?: string; architecture?: string } }[] };
    const match = index.manifests?.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64');
    return match?.digest ? tryParseDigest(match.digest) : undefined;
  } catch {
    return undefined;
  }
}
