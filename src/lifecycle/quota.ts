/**
 * Repository quotas: the bytes of unique blobs a repository's manifests reference (a layer shared by two manifests
 * counts once; a layer shared with another repository counts in each). Usage is kept incrementally per repository
 * with a quota rule: built once by parsing the repository's manifests (O(manifests)), then updated from the
 * manifest hooks in O(blobs of the pushed or deleted manifest). Memory: one map entry per unique blob per such
 * repository. Writes by another process (a `marina retention run` beside a server) are not seen until restart;
 * they only ever lower usage, so the server errs towards refusing, never towards exceeding.
 */
import { RegistryError } from '../errors.ts';
import type { CoreContext } from '../core/context.ts';
import type { Digest } from '../oci/digest.ts';
import { parseManifest } from '../oci/manifest.ts';
import type { ManifestRecord } from '../storage/types.ts';
import { RuleSet, type QuotaRule } from './rules.ts';

/** What a repository uses. */
export interface RepositoryUsage {
  repository: string;
  /** Bytes of unique blobs referenced by the repository's manifests. */
  bytes: number;
  /** Unique blobs referenced. */
  blobs: number;
  manifests: number;
  /** The quota that applies, when one does. */
  quota?: QuotaRule;
}

type Blobs = { digest: Digest; size: number }[];

class Counter {
  readonly manifests = new Set<Digest>();
  readonly refs = new Map<Digest, { size: number; count: number }>();
  bytes = 0;

  add(manifest: Digest, blobs: Blobs): void {
    if (this.manifests.has(manifest)) return;
    this.manifests.add(manifest);
    for (const b of unique(blobs)) {
      const ref = this.refs.get(b.digest);
      if (ref) ref.count++;
      else {
        this.refs.set(b.digest, { size: b.size, count: 1 });
        this.bytes += b.size;
      }
    }
  }

  remove(manifest: Digest, blobs: Blobs): void {
    if (!this.manifests.delete(manifest)) return;
    for (const b of unique(blobs)) {
      const ref = this.refs.get(b.digest);
      if (!ref) continue;
      if (--ref.count === 0) {
        this.refs.delete(b.digest);
        this.bytes -= ref.size;
      }
    }
  }

  /** Bytes a manifest would add. */
  added(manifest: Digest, blobs: Blobs): number {
    if (this.manifests.has(manifest)) return 0;
    return unique(blobs).reduce((sum, b) => sum + (this.refs.has(b.digest) ? 0 : b.size), 0);
  }
}

function unique(blobs: Blobs): Blobs {
  const seen = new Set<Digest>();
  return blobs.filter((b) => !seen.has(b.digest) && seen.add(b.digest));
}

/** The blobs (with descriptor sizes) a stored manifest references; none when it no longer parses. */
export function blobsOf(record: ManifestRecord | undefined): Blobs {
  if (!record) return [];
  try {
    return parseManifest(record.body, record.mediaType).sizes.filter((s) => s.kind === 'blob').map((s) => ({ digest: s.digest, size: s.size }));
  } catch {
    return [];
  }
}

/** Quota checks and usage counters. */
export class Quotas {
  private readonly rules: RuleSet<QuotaRule>;
  private readonly counters = new Map<string, Counter>();

  constructor(
    private readonly ctx: Pick<CoreContext, 'index'>,
    rules: readonly QuotaRule[],
  ) {
    this.rules = new RuleSet(rules);
  }

  /** Refuses (403 DENIED) a manifest whose new blobs would take the repository past its quota. */
  async check(repository: string, record: ManifestRecord, blobs: Blobs): Promise<void> {
    const quota = this.rules.match(repository);
    if (!quota) return;
    const counter = await this.counter(repository);
    const adds = counter.added(record.digest, blobs);
    if (adds === 0 || counter.bytes + adds <= quota.maxBytes) return;
    throw new RegistryError(
      'DENIED',
      `quota exceeded: repositories "${quota.repositories}" may use ${quota.maxBytes} bytes; ${repository} uses ${counter.bytes} and this manifest adds ${adds}`,
      { detail: { quota: quota.repositories, maxBytes: quota.maxBytes, usedBytes: counter.bytes, addedBytes: adds } },
    );
  }

  /** Counts a committed manifest (only in repositories whose counter is already built). */
  added(repository: string, record: ManifestRecord, blobs: Blobs): void {
    this.counters.get(repository)?.add(record.digest, blobs);
  }

  /** Uncounts a deleted manifest. */
  deleted(repository: string, record: ManifestRecord): void {
    this.counters.get(repository)?.remove(record.digest, blobsOf(record));
  }

  /** Usage of one repository: from its counter when kept, else computed by one pass over its manifests. */
  async usage(repository: string): Promise<RepositoryUsage> {
    const quota = this.rules.match(repository);
    const counter = this.counters.get(repository) ?? (await this.build(repository));
    const usage: RepositoryUsage = { repository, bytes: counter.bytes, blobs: counter.refs.size, manifests: counter.manifests.size };
    if (quota) usage.quota = quota;
    return usage;
  }

  // Built under the repository's manifest lock (check runs in beforeCommit), so no commit lands mid-build.
  private async counter(repository: string): Promise<Counter> {
    let counter = this.counters.get(repository);
    if (!counter) this.counters.set(repository, (counter = await this.build(repository)));
    return counter;
  }

  private async build(repository: string): Promise<Counter> {
    const counter = new Counter();
    for (const digest of await this.ctx.index.listManifestDigests(repository)) {
      const record = await this.ctx.index.getManifest(repository, digest);
      if (record) counter.add(digest, blobsOf(record));
    }
    return counter;
  }
}
