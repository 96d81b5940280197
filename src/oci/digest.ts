/**
 * Digests (image-spec descriptor.md "Digests"): `algorithm ":" encoded`.
 * Marina verifies the two registered algorithms, sha256 and sha512, whose encodings are lower-case hex.
 */
import { RegistryError } from '../errors.ts';

/** A digest string already checked by {@link parseDigest}, e.g. `sha256:e3b0…`. */
export type Digest = string & { readonly __digest: unique symbol };

/** The digest algorithms Marina can compute and verify. */
export type DigestAlgorithm = 'sha256' | 'sha512';

/** Hex length of each supported algorithm's encoded part. */
export const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };

/** Longest digest string accepted: `sha512:` and 128 hex characters. */
export const MAX_DIGEST_LENGTH = 7 + 128;

/** True for the algorithms Marina verifies. */
export function isDigestAlgorithm(value: string): value is DigestAlgorithm {
  return value === 'sha256' || value === 'sha512';
}

/**
 * Checks a digest against the spec grammar and the rules of its algorithm.
 * @throws RegistryError DIGEST_INVALID when malformed or of an algorithm Marina cannot verify.
 */
export function parseDigest(value: string): Digest {
  const digest = tryParseDigest(value);
  if (!digest) throw new RegistryError('DIGEST_INVALID', `invalid digest: ${truncate(value)}`);
  return digest;
}

/** Like {@link parseDigest} but returns undefined instead of throwing. */
export function tryParseDigest(value: string): Digest | undefined {
  // Only the two verifiable algorithms pass, so the general grammar reduces to `(sha256|sha512) ":" lower-hex`
  // of the algorithm's exact length: a bounded, single-pass check.
  if (value.length > MAX_DIGEST_LENGTH) return undefined;
  const colon = value.indexOf(':');
  if (colon < 0) return undefined;
  const algorithm = value.slice(0, colon);
  if (!isDigestAlgorithm(algorithm) || value.length - colon - 1 !== HEX_LENGTH[algorithm]) return undefined;
  for (let i = colon + 1; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return undefined;
  }
  return value as Digest;
}

/** The algorithm part of a checked digest. */
export function digestAlgorithm(digest: Digest): DigestAlgorithm {
  return digest.slice(0, digest.indexOf(':')) as DigestAlgorithm;
}

/** The hex part of a checked digest. */
export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1);
}

/** Digest of bytes held in memory (manifests; small test data). */
export function digestOf(bytes: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  const hasher = new Bun.CryptoHasher(algorithm);
  hasher.update(bytes);
  return `${algorithm}:${hasher.digest('hex')}` as Digest;
}

function truncate(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}…` : value;
}
