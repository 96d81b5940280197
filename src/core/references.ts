/** Manifest references: a tag or a digest, told apart by the colon only digests have. */
import { parseDigest, type Digest } from '../oci/digest.ts';
import { parseTag } from '../oci/names.ts';

/** A checked manifest reference. */
export type Reference = { kind: 'digest'; digest: Digest } | { kind: 'tag'; tag: string };

/** @throws DIGEST_INVALID or MANIFEST_INVALID for a malformed reference. */
export function parseReference(value: string): Reference {
  return value.includes(':') ? { kind: 'digest', digest: parseDigest(value) } : { kind: 'tag', tag: parseTag(value) };
}
