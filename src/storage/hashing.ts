/**
 * Incremental hashing shared by every upload implementation: one Bun.CryptoHasher per algorithm, fed as bytes arrive.
 */
import type { Digest, DigestAlgorithm } from '../oci/digest.ts';

/** A set of running hashes over the same byte stream, which can be snapshotted and rolled back. */
export class MultiHasher {
  private hashers: Map<DigestAlgorithm, Bun.CryptoHasher>;

  constructor(algorithms: Iterable<DigestAlgorithm>, from?: Map<DigestAlgorithm, Bun.CryptoHasher>) {
    this.hashers = from ?? new Map([...new Set(algorithms)].map((a) => [a, new Bun.CryptoHasher(a)]));
  }

  /** Algorithms being computed. */
  has(algorithm: DigestAlgorithm): boolean {
    return this.hashers.has(algorithm);
  }

  update(chunk: Uint8Array): void {
    for (const h of this.hashers.values()) h.update(chunk);
  }

  /** An independent copy of the current state (for rollback of a failed append). */
  snapshot(): MultiHasher {
    return new MultiHasher([], new Map([...this.hashers].map(([a, h]) => [a, h.copy()])));
  }

  /** The digest of everything so far, without ending the hash. */
  digest(algorithm: DigestAlgorithm): Digest | undefined {
    const h = this.hashers.get(algorithm);
    return h ? (`${algorithm}:${h.copy().digest('hex')}` as Digest) : undefined;
  }
}

/** Hashes a whole Blob (a file on disk) with one algorithm; the slow path for an algorithm learned too late. */
export async function hashBlob(blob: Blob, algorithm: DigestAlgorithm): Promise<Digest> {
  const hasher = new Bun.CryptoHasher(algorithm);
  for await (const chunk of blob.stream()) hasher.update(chunk);
  return `${algorithm}:${hasher.digest('hex')}` as Digest;
}
