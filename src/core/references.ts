/** Manifest references: a tag or a digest, told apart by the colon only digests have. */
import { parseDigest, type Digest } from '../oci/digest.ts';
import { isTag, parseTag } from '../oci/names.ts';

/** A checked manifest reference. */
export type Reference = { kind: 'digest'; digest: Digest } | { kind: 'tag'; tag: string };

/** @throws DIGEST_INVALID or MANIFEST_INVALID for a malformed reference. */
export function parseReference(value: string): Reference {
  return value.includes(':') ? { kind: 'digest', digest: parseDigest(value) } : { kind: 'tag', tag: parseTag(value) };
}

/**
 * A reference to look up (GET, HEAD): a string that is no valid tag names nothing that could exist, so it yields
 * undefined (answered 404 MANIFEST_UNKNOWN, as some conformance suites expect) instead of a 400. A malformed digest
 * still throws DIGEST_INVALID.
 */
export function lookupReference(value: string): Reference | undefined {
  if (value.includes(':')) return { kind: 'digest', digest: parseDigest(value) };
  return isTag(value) ? { kind: 'tag', tag: value } : undefined;
}
