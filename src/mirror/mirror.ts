/**
 * The pull-through mirror: the read-through source behind mirrored repositories. Blobs a repository does not link
 * are answered only when its upstream vouches for them, filled once however many clients ask; manifests come from
 * the manifest cache (freshness, stale-while-revalidate); listings from the upstream or, when it fails, the cache;
 * and the cache stays under its byte budget.
 */
import { adoptBlob, linkStoredBlob } from '../core/blobs.ts';
import type { CoreContext } from '../core/context.ts';
import { crashPoint } from '../crash-points.ts';
import type { CacheOutcome, ReadThrough, SourcedBlob } from '../core/read-through.ts';
import { RegistryError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Digest } from '../oci/digest.ts';
import type { MaybePromise, ReferrerDescriptor } from '../storage/types.ts';
import { BlobFill, FillRegistry } from './blob-fill.ts';
import { clientFacingError, isUpstreamFailure } from './upstream-errors.ts';
import { Eviction } from './eviction.ts';
import { SqliteMirrorLedger, type MirrorLedger } from './ledger.ts';
import type { MirrorOptions } from './options.ts';
import { ManifestCache } from './manifests.ts';
import { Spool } from './spool.ts';
import { MirrorRouter, type MirrorTarget } from './routing.ts';
import { Upstream, type UpstreamLimits, type UpstreamStats } from './upstream.ts';

/** Counters the library exposes and the CLI prints. */
/** How mirrored reads were answered, in total and per upstream. */
export interface CacheCounters {
  hits: number;
  misses: number;
  joined: number;
  stale: number;
  bytesServedFromCache: number;
}

/** The mirror's counters: cache outcomes in total, the cache's size, and each upstream's traffic and outcomes. */
export interface MirrorStats extends CacheCounters {
  cacheBytes: number;
  evictedImages: number;
  upstreams: Record<string, UpstreamStats & CacheCounters>;
}

/** The mirror service bound to a registry's stores. */
export class Mirror {
  readonly router: MirrorRouter;
  readonly ledger: MirrorLedger;
  private readonly upstreams = new Map<string, Upstream>();
  private readonly fills = new FillRegistry();
  private readonly manifests: ManifestCache;
  private readonly spool: Spool;
  private readonly eviction: Eviction;
  private readonly counters = { ...noCounts(), evictedImages: 0 };
  private readonly byUpstream = new Map<string, CacheCounters>();

  constructor(
    private readonly core: CoreContext,
    private readonly options: MirrorOptions,
    private readonly logger: Logger,
  ) {
    if (!options.upstreams.length) throw new Error('a mirror needs at least one upstream');
    for (const u of options.upstreams) {
      if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(u.name)) throw new Error(`mirror name "${u.name}" must be a lower-case host-like name (e.g. docker.io)`);
      this.upstreams.set(u.name, new Upstream(u, upstreamLimits(options, core.settings.maxManifestSize), options.rateLimitReserve ?? 10, options.breaker, logger));
    }
    const fallback = options.defaultUpstream ?? options.upstreams[0]!.name;
    if (!this.upstreams.has(fallback)) throw new Error(`default upstream "${fallback}" is not configured`);
    this.router = new MirrorRouter(options.upstreams, fallback);
    this.ledger = options.ledger ?? new SqliteMirrorLedger(options.ledgerFile);
    this.eviction = new Eviction(core, this.ledger, options, logger, () => this.counters.evictedImages++);
    this.manifests = new ManifestCache({
      core,
      ledger: this.ledger,
      logger,
      options,
      upstream: (target) => this.upstream(target),
      clientError: (target, error) => this.clientError(target, error),
      count: (target, outcome) => this.count(target, outcome),
      scheduleEviction: () => this.eviction.schedule(),
    });
    this.spool = new Spool(options.spoolDir);
    const swept = this.spool.sweep();
    if (swept) logger.info('removed spool files of interrupted fills', { files: swept });
  }

  /**
   * The mirror target of a request, or undefined for local repositories.
   * @param write true for pushes and deletes, which never go to the default upstream (a plain name stays local)
   */
  route(name: string, ns: string | null, write = false): Promise<MirrorTarget | undefined> {
    return this.router.resolve(name, ns, (n) => this.core.index.hasRepository(n), write);
  }

  /** @throws DENIED for writes into a mirrored namespace that is not a local overlay. */
  assertWritable(target: MirrorTarget): void {
    if (!target.upstream.overlay) {
      throw new RegistryError('DENIED', `${target.local} mirrors the upstream ${target.upstream.name}; pushes and deletes are refused (configure it as an overlay to allow them)`);
    }
  }

  /** The read-through source of a mirrored repository, for core's reads (see {@link ReadThrough}). */
  source(target: MirrorTarget): ReadThrough {
    return {
      blobHit: (digest, size, head) => {
        this.noteLedger(this.ledger.touchBlob(target.local, digest), 'touching a cached blob');
        this.tally(target, 'hits');
        if (!head) this.tally(target, 'bytesServedFromCache', size);
      },
      blob: (digest, head) => this.blob(target, digest, head),
      manifest: (reference) => this.manifests.get(target, reference),
    };
  }

  /**
   * A blob the repository does not link (core serves linked ones): vouched for by this repository's upstream and
   * then served from the store or streamed from a (possibly shared) fill. HEAD on a miss asks upstream only.
   *
   * Bytes stored or being filled for another repository (a local push, another upstream, another repository of the
   * same upstream) say nothing about this one: they are answered only after this repository's upstream confirms the
   * digest, and only then linked here (CVE-2026-35172).
   */
  async blob(target: MirrorTarget, digest: Digest, head: boolean): Promise<SourcedBlob> {
    const { index, blobs } = this.core;
    const upstream = this.upstream(target);
    let vouched: number | undefined;
    for (;;) {
      const elsewhere = (await blobs.stat(digest)) !== undefined || (this.fills.owner(digest) ?? target.local) !== target.local;
      if (vouched === undefined && (head || elsewhere)) {
        vouched = await this.confirm(upstream, target, digest);
        // The world may have moved while the upstream answered: look again with the confirmation in hand.
        continue;
      }
      if (elsewhere && vouched !== undefined && (await blobs.stat(digest))) {
        const linked = await linkStoredBlob(this.core, target.local, digest);
        const body = linked ? await blobs.open(digest) : undefined;
        if (body) {
          await this.ledger.addBlob(target.local, digest, body.size);
          this.tally(target, 'hits');
          if (!head) this.tally(target, 'bytesServedFromCache', body.size);
          return { kind: 'stored', body, size: body.size, outcome: 'revalidated' };
        }
        continue;
      }
      if (head) {
        this.tally(target, 'misses');
        return { kind: 'head', size: vouched!, outcome: 'miss' };
      }
      break;
    }
    const { fill, joined } = this.fills.join(digest, target.local, vouched !== undefined, () => this.startFill(target, digest, upstream));
    await fill.started;
    // A fill that already failed has removed its spool: nothing to stream (the next request starts a new fill).
    if (fill.error !== undefined) throw this.clientError(target, fill.error, false);
    if (joined) {
      this.tally(target, 'joined');
      // The fill links the blob into the repository that started it; link it into this one too (vouched for, or
      // the same repository).
      void fill.done
        .then(async () => {
          if (!fill.complete || (await index.hasBlob(target.local, digest))) return;
          const info = await linkStoredBlob(this.core, target.local, digest);
          if (info) await this.ledger.addBlob(target.local, digest, info.size);
        })
        .catch((error) => this.logger.warn('linking a joined fill failed', { repository: target.local, digest, error: String(error) }));
    } else this.tally(target, 'misses');
    if (fill.complete) {
      const body = await blobs.open(digest);
      if (body) return { kind: 'stored', body, size: body.size, outcome: joined ? 'joined' : 'miss' };
    }
    return { kind: 'stream', size: fill.size, open: (start, end) => fill.reader(start, end), outcome: joined ? 'joined' : 'miss' };
  }

  /** The blob's size as this repository's upstream reports it. @throws BLOB_UNKNOWN when the upstream lacks it */
  private async confirm(upstream: Upstream, target: MirrorTarget, digest: Digest): Promise<number> {
    let size: number | undefined;
    try {
      size = await upstream.call((c) => c.headBlob(target.remote, digest), { byDigest: true });
    } catch (error) {
      throw this.clientError(target, error);
    }
    if (size === undefined) throw new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest } });
    return size;
  }

  /** The upstream's tags (cached tags when it is unreachable). */
  async tags(target: MirrorTarget): Promise<{ tags: string[]; outcome: CacheOutcome }> {
    try {
      const upstreamTags = await this.upstream(target).call((c) => c.listTags(target.remote));
      // An overlay also lists the tags pushed into it.
      const local = target.upstream.overlay ? await this.localTags(target) : [];
      if (upstreamTags === undefined && !local.length) throw new RegistryError('NAME_UNKNOWN', undefined, { detail: { name: target.remote } });
      return { tags: [...new Set([...(upstreamTags ?? []), ...local])].sort(byteOrder), outcome: 'miss' };
    } catch (error) {
      if (!isUpstreamFailure(error) || !(await this.core.index.hasRepository(target.local))) throw this.clientError(target, error);
      this.tally(target, 'stale');
      return { tags: await this.localTags(target), outcome: 'stale' };
    }
  }

  /** Referrers through the upstream's API or its tag-schema fallback (the cached edges when unreachable). */
  async referrers(target: MirrorTarget, subject: Digest, artifactType?: string): Promise<{ manifests: ReferrerDescriptor[]; outcome: CacheOutcome }> {
    try {
      const manifests = await this.upstream(target).call((c) => c.listReferrers(target.remote, subject, { artifactType }));
      return { manifests, outcome: 'miss' };
    } catch (error) {
      if (!isUpstreamFailure(error)) throw this.clientError(target, error);
      this.tally(target, 'stale');
      return { manifests: [...(await this.core.index.listReferrers(target.local, subject, artifactType))], outcome: 'stale' };
    }
  }

  private async localTags(target: MirrorTarget): Promise<string[]> {
    return (await this.core.index.listTags(target.local, { limit: Number.MAX_SAFE_INTEGER })).items;
  }

  /** Counters, including each upstream's. */
  async stats(): Promise<MirrorStats> {
    const upstreams: MirrorStats['upstreams'] = {};
    for (const [name, u] of this.upstreams) upstreams[name] = { ...u.stats, ...(this.byUpstream.get(name) ?? noCounts()) };
    return { ...this.counters, cacheBytes: await this.ledger.totalBytes(), upstreams };
  }

  /**
   * Evicts least recently used images (and then lone blobs) until the cache is below `targetBytes`.
   * Pushed local content is never in the ledger, so it is never evicted.
   */
  evict(targetBytes: number, onProgress?: (message: string) => void): Promise<{ images: number; bytes: number }> {
    return this.eviction.evict(targetBytes, onProgress);
  }

  /** Resolves once no eviction is running (eviction starts in the background when a fill or fetch crosses the budget). */
  idle(): Promise<void> {
    return this.eviction.idle();
  }

  /** Stops running fills (their readers fail, nothing half-filled is stored), waits for eviction, closes the ledger. */
  async close(): Promise<void> {
    await this.fills.abortAll(new RegistryError('UNKNOWN', 'the registry is shutting down', { status: 503 }));
    await this.manifests.idle();
    await this.eviction.idle();
    this.spool.close();
    await this.ledger.close();
  }

  private startFill(target: MirrorTarget, digest: Digest, upstream: Upstream): BlobFill {
    const spool = this.spool.file(digest);
    const fill = new BlobFill(
      digest,
      spool,
      (offset) => upstream.call((c) => c.getBlob(target.remote, digest, offset > 0 ? { range: { start: offset } } : {}), { byDigest: true }),
      this.options.fillRetries ?? 3,
      async (file, size) => {
        // Recorded before the link: a crash between the two must not leave a cached blob that eviction never sees.
        await this.ledger.addBlob(target.local, digest, size);
        try {
          await adoptBlob(this.core, target.local, file, digest, size);
        } catch (error) {
          await this.ledger.removeBlob(target.local, digest);
          throw error;
        }
        crashPoint('mirror-fill-after-link');
        this.eviction.schedule();
      },
      (n) => (upstream.stats.bytesFetched += n),
      this.options.upstreamTimeoutMs ?? 5000,
      { sizeOf: () => upstream.call((c) => c.headBlob(target.remote, digest), { byDigest: true }), maxBytes: this.options.cacheMaxBytes },
    );
    void fill.done.then(() => {
      if (fill.error === undefined) return;
      this.logger.warn('blob fill failed; nothing cached', { repository: target.local, digest, bytes: fill.written, error: String(fill.error) });
    });
    return fill;
  }

  /** The client's error for an upstream failure (logged here, with the upstream's own words). */
  private clientError(target: MirrorTarget, error: unknown, log = true): RegistryError {
    const mapped = clientFacingError(target.upstream.name, error);
    if (log && mapped.status >= 500) this.logger.warn('upstream request failed', { upstream: target.upstream.name, repository: target.local, error: String(error) });
    return mapped;
  }

  private upstream(target: MirrorTarget): Upstream {
    return this.upstreams.get(target.upstream.name)!;
  }

  private count(target: MirrorTarget, outcome: CacheOutcome): void {
    if (outcome === 'hit' || outcome === 'revalidated') this.tally(target, 'hits');
    else if (outcome === 'stale' || outcome === 'updating') this.tally(target, 'stale');
    else if (outcome === 'joined') this.tally(target, 'joined');
    else this.tally(target, 'misses');
  }

  /** An access note is best effort: a ledger that answers later must neither hold up nor fail the read it notes. */
  private noteLedger(write: MaybePromise<void>, what: string): void {
    if (write instanceof Promise) write.catch((error) => this.logger.warn(`${what} failed`, { error: String(error) }));
  }

  /** Counts an outcome (or bytes) in the totals and in the upstream's own counters. */
  private tally(target: MirrorTarget, field: keyof CacheCounters, amount = 1): void {
    this.counters[field] += amount;
    let own = this.byUpstream.get(target.upstream.name);
    if (!own) this.byUpstream.set(target.upstream.name, (own = noCounts()));
    own[field] += amount;
  }
}

function noCounts(): CacheCounters {
  return { hits: 0, misses: 0, joined: 0, stale: 0, bytesServedFromCache: 0 };
}

/** The limits upstream traffic is held to, from the mirror options. */
function upstreamLimits(options: MirrorOptions, maxManifestBytes: number): UpstreamLimits {
  const headersTimeoutMs = options.upstreamTimeoutMs ?? 5000;
  return {
    headersTimeoutMs,
    bodyTimeoutMs: options.upstreamBodyTimeoutMs ?? headersTimeoutMs,
    maxManifestBytes,
    maxListingBytes: options.upstreamMaxListingBytes ?? 1024 * 1024,
    minBytesPerSecond: options.upstreamMinBytesPerSecond ?? 16 * 1024,
    rateWindowMs: options.upstreamRateWindowMs ?? 10_000,
  };
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
