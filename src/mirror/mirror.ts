/**
 * The pull-through mirror: serves mirrored repositories from the local stores, filling misses from upstreams
 * (one fetch per blob however many clients ask), revalidating tags after their freshness window, serving stale
 * content when the upstream fails, and keeping the cache under its byte budget.
 */
import * as path from 'node:path';
import type { CoreContext } from '../core/context.ts';
import { commitBlob, linkStoredBlob } from '../core/blob-lifecycle.ts';
import { isRegistryError, RegistryError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Digest } from '../oci/digest.ts';
import { parseManifest } from '../oci/manifest.ts';
import type { ManifestRecord, ReferrerDescriptor } from '../storage/types.ts';
import { ALL_MANIFEST_TYPES } from '../client/client.ts';
import { BlobFill, FillRegistry } from './blob-fill.ts';
import { Eviction } from './eviction.ts';
import { MirrorLedger } from './ledger.ts';
import { freshnessMs, type MirrorOptions } from './options.ts';
import { MirrorRouter, type MirrorTarget } from './routing.ts';
import { Upstream, type UpstreamStats } from './upstream.ts';

/** How a mirrored response was produced (sent as Cache-Status). */
export type CacheOutcome = 'hit' | 'miss' | 'joined' | 'stale' | 'revalidated';

/** A manifest answer. */
export interface MirroredManifest {
  record: ManifestRecord;
  outcome: CacheOutcome;
}

/** A blob answer: a stored blob, a stream from a fill, or (HEAD on a miss) just the size. */
export type MirroredBlob =
  | { kind: 'stored'; body: Blob; size: number; outcome: CacheOutcome }
  | { kind: 'filling'; fill: BlobFill; size: number | undefined; outcome: CacheOutcome }
  | { kind: 'remote-head'; size: number; outcome: CacheOutcome };

/** Counters the library exposes and the CLI prints. */
export interface MirrorStats {
  hits: number;
  misses: number;
  joined: number;
  stale: number;
  bytesServedFromCache: number;
  cacheBytes: number;
  evictedImages: number;
  upstreams: Record<string, UpstreamStats>;
}

/** The mirror service bound to a registry's stores. */
export class Mirror {
  readonly router: MirrorRouter;
  readonly ledger: MirrorLedger;
  private readonly upstreams = new Map<string, Upstream>();
  private readonly fills = new FillRegistry();
  private readonly inflightManifests = new Map<string, Promise<MirroredManifest>>();
  private readonly eviction: Eviction;
  private readonly counters = { hits: 0, misses: 0, joined: 0, stale: 0, bytesServedFromCache: 0, evictedImages: 0 };

  constructor(
    private readonly core: CoreContext,
    private readonly options: MirrorOptions,
    private readonly logger: Logger,
  ) {
    if (!options.upstreams.length) throw new Error('a mirror needs at least one upstream');
    for (const u of options.upstreams) {
      if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(u.name)) throw new Error(`mirror name "${u.name}" must be a lower-case host-like name (e.g. docker.io)`);
      this.upstreams.set(u.name, new Upstream(u, options.upstreamTimeoutMs ?? 5000, options.rateLimitReserve ?? 10));
    }
    const fallback = options.defaultUpstream ?? options.upstreams[0]!.name;
    if (!this.upstreams.has(fallback)) throw new Error(`default upstream "${fallback}" is not configured`);
    this.router = new MirrorRouter(options.upstreams, fallback);
    this.ledger = new MirrorLedger(options.ledgerFile);
    this.eviction = new Eviction(core, this.ledger, options, logger, () => this.counters.evictedImages++);
  }

  /**
   * The mirror target of a request, or undefined for local repositories.
   * @param write true for pushes and deletes, which never go to the default upstream (a plain name stays local)
   */
  route(name: string, ns: string | null, write = false): MirrorTarget | undefined {
    return this.router.resolve(name, ns, (n) => this.core.index.hasRepository(n), write);
  }

  /** @throws DENIED for writes into a mirrored namespace that is not a local overlay. */
  assertWritable(target: MirrorTarget): void {
    if (!target.upstream.overlay) {
      throw new RegistryError('DENIED', `${target.local} mirrors ${target.upstream.url}; pushes and deletes are refused (configure it as an overlay to allow them)`);
    }
  }

  /** A manifest by tag or digest: from the cache when fresh, else from upstream. */
  async manifest(target: MirrorTarget, reference: string): Promise<MirroredManifest> {
    const key = `${target.local}@${reference}`;
    const inflight = this.inflightManifests.get(key);
    if (inflight) {
      const shared = await inflight;
      // Only a request that waited on an upstream fetch has joined anything; a cache answer is a hit for it too.
      const outcome: CacheOutcome = shared.outcome === 'miss' ? 'joined' : shared.outcome;
      this.count(outcome);
      return { ...shared, outcome };
    }
    const work = this.resolveManifest(target, reference);
    this.inflightManifests.set(key, work);
    try {
      const result = await work;
      this.count(result.outcome);
      return result;
    } finally {
      this.inflightManifests.delete(key);
    }
  }

  /** A blob: stored locally, or streamed from a (possibly shared) fill. HEAD on a miss asks upstream only. */
  async blob(target: MirrorTarget, digest: Digest, head: boolean): Promise<MirroredBlob> {
    const { index, blobs } = this.core;
    const stored = await blobs.open(digest);
    if (stored) {
      if (!index.hasBlob(target.local, digest)) await linkStoredBlob(this.core, target.local, digest);
      this.ledger.touchBlob(target.local, digest);
      this.counters.hits++;
      if (!head) this.counters.bytesServedFromCache += stored.size;
      return { kind: 'stored', body: stored, size: stored.size, outcome: 'hit' };
    }
    const upstream = this.upstream(target);
    if (head) {
      let size: number | undefined;
      try {
        size = await upstream.client.headBlob(target.remote, digest);
      } catch (error) {
        throw upstreamError(error);
      }
      if (size === undefined) throw new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest } });
      this.counters.misses++;
      return { kind: 'remote-head', size, outcome: 'miss' };
    }
    const { fill, joined } = this.fills.join(digest, () => this.startFill(target, digest, upstream));
    await fill.started;
    // A fill that already failed has removed its spool: nothing to stream (the next request starts a new fill).
    if (fill.error !== undefined) throw upstreamError(fill.error);
    if (joined) {
      this.counters.joined++;
      // The fill links the blob into the repository that started it; link it into this one too.
      void fill.done.then(() => (fill.complete ? linkStoredBlob(this.core, target.local, digest) : undefined)).catch(() => undefined);
    } else this.counters.misses++;
    if (fill.complete) {
      const body = await blobs.open(digest);
      if (body) return { kind: 'stored', body, size: body.size, outcome: joined ? 'joined' : 'miss' };
    }
    return { kind: 'filling', fill, size: fill.size, outcome: joined ? 'joined' : 'miss' };
  }

  /** The upstream's tags (cached tags when it is unreachable). */
  async tags(target: MirrorTarget): Promise<{ tags: string[]; outcome: CacheOutcome }> {
    try {
      const upstreamTags = await this.upstream(target).client.listTags(target.remote);
      // An overlay also lists the tags pushed into it.
      const local = target.upstream.overlay ? this.localTags(target) : [];
      if (upstreamTags === undefined && !local.length) throw new RegistryError('NAME_UNKNOWN', undefined, { detail: { name: target.remote } });
      return { tags: [...new Set([...(upstreamTags ?? []), ...local])].sort(byteOrder), outcome: 'miss' };
    } catch (error) {
      if (!isUpstreamFailure(error) || !this.core.index.hasRepository(target.local)) throw upstreamError(error);
      this.counters.stale++;
      return { tags: this.localTags(target), outcome: 'stale' };
    }
  }

  /** Referrers through the upstream's API or its tag-schema fallback (the cached edges when unreachable). */
  async referrers(target: MirrorTarget, subject: Digest, artifactType?: string): Promise<{ manifests: ReferrerDescriptor[]; outcome: CacheOutcome }> {
    try {
      const manifests = await this.upstream(target).client.listReferrers(target.remote, subject, { artifactType });
      return { manifests, outcome: 'miss' };
    } catch (error) {
      if (!isUpstreamFailure(error)) throw upstreamError(error);
      this.counters.stale++;
      return { manifests: [...this.core.index.listReferrers(target.local, subject, artifactType)], outcome: 'stale' };
    }
  }

  private localTags(target: MirrorTarget): string[] {
    return this.core.index.listTags(target.local, { limit: Number.MAX_SAFE_INTEGER }).items;
  }

  /** Counters, including each upstream's. */
  stats(): MirrorStats {
    const upstreams: Record<string, UpstreamStats> = {};
    for (const [name, u] of this.upstreams) upstreams[name] = { ...u.stats };
    return { ...this.counters, cacheBytes: this.ledger.totalBytes(), upstreams };
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
    await this.eviction.idle();
    this.ledger.close();
  }

  private async resolveManifest(target: MirrorTarget, reference: string): Promise<MirroredManifest> {
    const { index } = this.core;
    if (reference.includes(':')) {
      const digest = reference as Digest;
      const cached = index.getManifest(target.local, digest);
      if (cached) {
        this.ledger.touchImage(target.local, digest);
        return { record: cached, outcome: 'hit' };
      }
      return { record: await this.fetchManifest(target, digest), outcome: 'miss' };
    }
    const tag = reference;
    const cachedDigest = index.resolveTag(target.local, tag);
    const cached = cachedDigest ? index.getManifest(target.local, cachedDigest) : undefined;
    const checked = this.ledger.tag(target.local, tag);
    const upstream = this.upstream(target);
    // A tag the ledger never saw come from upstream was pushed here (an overlay): it is local content.
    if (cached && checked === undefined && target.upstream.overlay) return { record: cached, outcome: 'hit' };
    const fresh = checked !== undefined && Date.now() - checked.checkedAt < freshnessMs(target.upstream, target.remote);
    if (cached && fresh) {
      this.ledger.touchImage(target.local, cached.digest);
      return { record: cached, outcome: 'hit' };
    }
    if (cached && upstream.conserving) {
      // Past its freshness, but the upstream asked us to back off (429) or its pull budget is nearly spent.
      this.ledger.touchImage(target.local, cached.digest);
      return { record: cached, outcome: 'stale' };
    }
    try {
      const head = await upstream.client.headManifest(target.remote, tag);
      if (!head) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { detail: { reference } });
      if (cached && head.digest === cached.digest) {
        this.ledger.setTag(target.local, tag, cached.digest);
        this.ledger.touchImage(target.local, cached.digest);
        return { record: cached, outcome: 'revalidated' };
      }
      const record = index.getManifest(target.local, head.digest) ?? (await this.fetchManifest(target, head.digest));
      await index.putManifest(target.local, record, [tag], { blobs: [], manifests: [] });
      this.ledger.setTag(target.local, tag, record.digest);
      return { record, outcome: 'miss' };
    } catch (error) {
      if (cached && isUpstreamFailure(error)) {
        this.logger.warn('upstream failed; serving a cached tag', { repository: target.local, tag, error: String(error) });
        return { record: cached, outcome: 'stale' };
      }
      throw upstreamError(error);
    }
  }

  /** Fetches a manifest by digest (verified by the client), stores it whole, and records it in the ledger. */
  private async fetchManifest(target: MirrorTarget, digest: Digest): Promise<ManifestRecord> {
    let fetched;
    try {
      fetched = await this.upstream(target).client.getManifest(target.remote, digest, ALL_MANIFEST_TYPES);
    } catch (error) {
      throw upstreamError(error);
    }
    if (!fetched) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { detail: { reference: digest } });
    const parsed = parseManifest(fetched.body, fetched.mediaType);
    const record: ManifestRecord = { digest, mediaType: parsed.mediaType, size: fetched.body.byteLength, body: fetched.body };
    if (parsed.artifactType !== undefined) record.artifactType = parsed.artifactType;
    if (parsed.subject) record.subject = parsed.subject.digest;
    if (parsed.annotations) record.annotations = parsed.annotations;
    // Indexes are stored whole; their children and every blob are fetched lazily, when clients ask.
    await this.core.index.putManifest(target.local, record, [], { blobs: [], manifests: [] });
    this.ledger.addImage(target.local, digest, record.size, parsed.blobs);
    this.eviction.schedule();
    return record;
  }

  private startFill(target: MirrorTarget, digest: Digest, upstream: Upstream): BlobFill {
    const spool = path.join(this.options.spoolDir, `${digest.replace(':', '-')}-${crypto.randomUUID()}`);
    const fill = new BlobFill(
      digest,
      spool,
      (offset) => upstream.client.getBlob(target.remote, digest, offset > 0 ? { range: { start: offset } } : {}),
      this.options.fillRetries ?? 3,
      async (file, size) => {
        await commitBlob(this.core, target.local, digest, async () => {
          await this.adopt(file, digest, size);
          return { digest, size };
        });
        this.ledger.addBlob(target.local, digest, size);
        this.eviction.schedule();
      },
      (n) => (upstream.stats.bytesFetched += n),
      this.options.upstreamTimeoutMs ?? 5000,
    );
    void fill.done.then(() => {
      if (fill.error === undefined) return;
      this.logger.warn('blob fill failed; nothing cached', { repository: target.local, digest, bytes: fill.written, error: String(fill.error) });
    });
    return fill;
  }

  private async adopt(file: string, digest: Digest, size: number): Promise<void> {
    const { blobs } = this.core;
    if (blobs.importFile) {
      await blobs.importFile(file, digest, size);
      return;
    }
    const session = await blobs.startUpload({ algorithms: [digest.startsWith('sha512:') ? 'sha512' : 'sha256'] });
    await session.append(Bun.file(file).stream());
    await session.commit(digest);
  }

  private upstream(target: MirrorTarget): Upstream {
    return this.upstreams.get(target.upstream.name)!;
  }

  private count(outcome: CacheOutcome): void {
    if (outcome === 'hit' || outcome === 'revalidated') this.counters.hits++;
    else if (outcome === 'stale') this.counters.stale++;
    else if (outcome === 'joined') this.counters.joined++;
    else this.counters.misses++;
  }
}

/** True for failures that say nothing about the content: the upstream is down, slow, throttling or broken. */
export function isUpstreamFailure(error: unknown): boolean {
  return !isRegistryError(error) || error.status >= 500 || error.status === 429;
}

/**
 * Maps an upstream failure to what the client sees: definitive answers pass through, outages become 503. An
 * upstream 401 is the mirror's own credentials failing (or a private repository); passed on as 401 it would be a
 * challenge-less 401 the client cannot answer, so it becomes DENIED.
 */
function upstreamError(error: unknown): unknown {
  if (isRegistryError(error) && error.status === 401) {
    return new RegistryError('DENIED', `the upstream refused the mirror's request: ${error.message}`, { cause: error });
  }
  if (isRegistryError(error) && !isUpstreamFailure(error)) return error;
  if (isRegistryError(error) && error.status === 429) return new RegistryError('TOOMANYREQUESTS', error.message, { headers: error.headers });
  return new RegistryError('UNKNOWN', `upstream unavailable: ${error instanceof Error ? error.message : String(error)}`, { status: 503, cause: error });
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
