/**
 * Mirrored manifests: by digest from the cache or the upstream (immutable), by tag with freshness, RFC 5861
 * stale-while-revalidate (one background revalidation per tag), stale-if-error, and one upstream fetch however many
 * clients ask at once.
 */
import { ALL_MANIFEST_TYPES } from '../client/client.ts';
import type { CoreContext } from '../core/context.ts';
import { adoptManifest } from '../core/manifests.ts';
import type { CacheOutcome } from '../core/read-through.ts';
import { RegistryError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Digest } from '../oci/digest.ts';
import type { ManifestRecord } from '../storage/types.ts';
import type { MirrorLedger } from './ledger.ts';
import { freshnessMs, type MirrorOptions } from './options.ts';
import type { MirrorTarget } from './routing.ts';
import type { Upstream } from './upstream.ts';
import { isUpstreamFailure } from './upstream-errors.ts';

/** A manifest answer. */
export interface MirroredManifest {
  record: ManifestRecord;
  outcome: CacheOutcome;
}

/** What the manifest cache uses of the mirror around it. */
export interface ManifestCacheContext {
  core: CoreContext;
  ledger: MirrorLedger;
  logger: Logger;
  options: MirrorOptions;
  upstream(target: MirrorTarget): Upstream;
  /** The client's error for an upstream failure (logged). */
  clientError(target: MirrorTarget, error: unknown): RegistryError;
  /** Counts an answer's outcome. */
  count(target: MirrorTarget, outcome: CacheOutcome): void;
  scheduleEviction(): void;
}

/** Manifests of mirrored repositories. */
export class ManifestCache {
  private readonly inflight = new Map<string, Promise<MirroredManifest>>();
  private readonly revalidations = new Map<string, Promise<void>>();

  constructor(private readonly m: ManifestCacheContext) {}

  /** A manifest by tag or digest: from the cache when fresh, else from upstream. */
  async get(target: MirrorTarget, reference: string): Promise<MirroredManifest> {
    const key = `${target.local}@${reference}`;
    const inflight = this.inflight.get(key);
    if (inflight) {
      const shared = await inflight;
      // Only a request that waited on an upstream fetch has joined anything; a cache answer is a hit for it too.
      const outcome: CacheOutcome = shared.outcome === 'miss' ? 'joined' : shared.outcome;
      this.m.count(target, outcome);
      return { ...shared, outcome };
    }
    const work = this.resolve(target, reference);
    this.inflight.set(key, work);
    try {
      const result = await work;
      this.m.count(target, result.outcome);
      return result;
    } finally {
      this.inflight.delete(key);
    }
  }

  private async resolve(target: MirrorTarget, reference: string): Promise<MirroredManifest> {
    const { index } = this.m.core;
    if (reference.includes(':')) {
      const digest = reference as Digest;
      const cached = await index.getManifest(target.local, digest);
      if (cached) {
        await this.m.ledger.touchImage(target.local, digest);
        return { record: cached, outcome: 'hit' };
      }
      return { record: await this.fetch(target, digest), outcome: 'miss' };
    }
    const tag = reference;
    const cachedDigest = await index.resolveTag(target.local, tag);
    const cached = cachedDigest ? await index.getManifest(target.local, cachedDigest) : undefined;
    const checked = await this.m.ledger.tag(target.local, tag);
    const upstream = this.m.upstream(target);
    // A tag the ledger never saw come from upstream was pushed here (an overlay): it is local content.
    if (cached && checked === undefined && target.upstream.overlay) return { record: cached, outcome: 'hit' };
    const age = checked === undefined ? Infinity : Date.now() - checked.checkedAt;
    const freshFor = freshnessMs(target.upstream, target.remote);
    if (cached && age < freshFor) {
      await this.m.ledger.touchImage(target.local, cached.digest);
      return { record: cached, outcome: 'hit' };
    }
    if (cached && upstream.conserving) {
      // Past its freshness, but the upstream asked us to back off (429) or its pull budget is nearly spent.
      await this.m.ledger.touchImage(target.local, cached.digest);
      return { record: cached, outcome: 'stale' };
    }
    if (cached && age < freshFor + (this.m.options.staleWhileRevalidateSeconds ?? 86_400) * 1000) {
      // RFC 5861 stale-while-revalidate: answer now, ask upstream in the background (once per tag at a time).
      this.revalidateLater(target, tag, cached);
      await this.m.ledger.touchImage(target.local, cached.digest);
      return { record: cached, outcome: 'updating' };
    }
    try {
      return await this.revalidate(target, tag, cached);
    } catch (error) {
      const staleIfError = this.m.options.staleIfErrorSeconds;
      if (cached && isUpstreamFailure(error) && (staleIfError === undefined || age < freshFor + staleIfError * 1000)) {
        this.m.logger.warn('upstream failed; serving a cached tag', { repository: target.local, tag, error: String(error) });
        return { record: cached, outcome: 'stale' };
      }
      throw this.m.clientError(target, error);
    }
  }

  /** Asks upstream where a tag points now, fetching and storing the manifest when it moved. */
  private async revalidate(target: MirrorTarget, tag: string, cached: ManifestRecord | undefined): Promise<MirroredManifest> {
    const { index } = this.m.core;
    const head = await this.m.upstream(target).call((c) => c.headManifest(target.remote, tag));
    if (!head) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { detail: { reference: tag } });
    if (cached && head.digest === cached.digest) {
      await this.m.ledger.setTag(target.local, tag, cached.digest);
      await this.m.ledger.touchImage(target.local, cached.digest);
      return { record: cached, outcome: 'revalidated' };
    }
    const record = (await index.getManifest(target.local, head.digest)) ?? (await this.fetch(target, head.digest));
    await adoptManifest(this.m.core, target.local, record, [tag]);
    await this.m.ledger.setTag(target.local, tag, record.digest);
    return { record, outcome: 'miss' };
  }

  /** Starts a background revalidation of a tag unless one is running. */
  private revalidateLater(target: MirrorTarget, tag: string, cached: ManifestRecord): void {
    const key = `${target.local}:${tag}`;
    if (this.revalidations.has(key)) return;
    const work = this.revalidate(target, tag, cached)
      .then(() => undefined)
      .catch((error) => this.m.logger.warn('background revalidation failed; the cached tag stays', { repository: target.local, tag, error: String(error) }))
      .finally(() => this.revalidations.delete(key));
    this.revalidations.set(key, work);
  }

  /** Fetches a manifest by digest (verified by the client), stores it whole, and records it in the ledger. */
  private async fetch(target: MirrorTarget, digest: Digest): Promise<ManifestRecord> {
    let fetched;
    try {
      fetched = await this.m.upstream(target).call((c) => c.getManifest(target.remote, digest, ALL_MANIFEST_TYPES), { byDigest: true });
    } catch (error) {
      throw this.m.clientError(target, error);
    }
    if (!fetched) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { detail: { reference: digest } });
    // Indexes are stored whole; their children and every blob are fetched lazily, when clients ask.
    // Recorded as mirrored before the index commits it (see adoptManifest): fsck trusts the ledger to tell a lazily
    // filled manifest from a pushed one missing its blobs. An entry whose commit failed costs nothing: eviction
    // forgets it in time.
    const { record } = await adoptManifest(this.m.core, target.local, { ...fetched, digest }, [], (r, blobs) => this.m.ledger.addImage(target.local, digest, r.size, blobs));
    this.m.scheduleEviction();
    return record;
  }

  /** Resolves once no background revalidation is running. */
  async idle(): Promise<void> {
    await Promise.all(this.revalidations.values());
  }
}
