/**
 * Reads the pull-through mirror for the web page through its public surface only (`stats()`, `ledger`,
 * `router.upstreams`), tolerating anything missing: the mirror is being reshaped, and a page must show what
 * exists rather than fail. Every field is checked at runtime; absent data is `undefined`, never a guess.
 */

import { withoutCredentials } from '../logger.ts';

/** The mirror's cumulative counters (since the server started). */
export interface MirrorCounters {
  hits: number;
  misses: number;
  joined: number;
  stale: number;
  bytesServedFromCache: number;
  /** Sum of every upstream's bytes fetched. */
  bytesFetched: number;
  /** Bytes the cache ledger records. */
  cacheBytes?: number;
  evictedImages?: number;
}

/** One upstream's counters (any the mirror does not report stay undefined). */
export interface UpstreamCounters {
  name: string;
  url?: string;
  requests?: number;
  blobRequests?: number;
  bytesFetched?: number;
  failures?: number;
  hits?: number;
  misses?: number;
  joined?: number;
  stale?: number;
  bytesServedFromCache?: number;
  /** Cached images of this upstream (from the ledger, grouped by the `<upstream>/` repository prefix). */
  cachedImages?: number;
}

/** A cached image as the ledger lists it. */
export interface CachedImageView {
  repository: string;
  digest: string;
  size: number;
  lastAccess: number;
}

/** What could be read. */
export interface MirrorReading {
  counters?: MirrorCounters;
  upstreams: UpstreamCounters[];
  /** Every cached image, when the ledger can list them. */
  images?: CachedImageView[];
  /** Least recently used first: what eviction would remove next. */
  evictionOrder?: CachedImageView[];
}

type Loose = Record<string, unknown>;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Loose | undefined => (typeof v === 'object' && v !== null ? (v as Loose) : undefined);
// Awaited: the mirror's stats and ledger reads may answer later (a ledger in a shared database).
const call = async (target: Loose | undefined, method: string, ...args: unknown[]): Promise<unknown> => {
  const fn = target?.[method];
  if (typeof fn !== 'function') return undefined;
  try {
    return await fn.apply(target, args);
  } catch {
    return undefined;
  }
};

/** Images looked at when ranking top images (the ledger has no ordered query for size). */
export const MAX_LEDGER_IMAGES = 50_000;

/** Reads counters and, with `ledger`, the cache's images (a full ledger query: call it rarely). */
export async function readMirror(mirror: unknown, ledger = false, evictionRows = 10): Promise<MirrorReading> {
  const m = obj(mirror);
  const stats = obj(await call(m, 'stats'));
  const upstreamStats = obj(stats?.upstreams) ?? {};
  const listed = obj(m?.router)?.upstreams;
  const configured = Array.isArray(listed) ? listed.map(obj).filter((u): u is Loose => u !== undefined && typeof u.name === 'string') : [];
  const names = new Set<string>([...configured.map((u) => String(u.name)), ...Object.keys(upstreamStats)]);
  const upstreams: UpstreamCounters[] = [...names].map((name) => {
    const s = obj(upstreamStats[name]) ?? {};
    const url = configured.find((u) => u.name === name)?.url;
    return {
      name,
      url: typeof url === 'string' ? withoutCredentials(url) : undefined,
      requests: num(s.requests),
      blobRequests: num(s.blobRequests),
      bytesFetched: num(s.bytesFetched),
      failures: num(s.failures),
      hits: num(s.hits),
      misses: num(s.misses),
      joined: num(s.joined),
      stale: num(s.stale),
      bytesServedFromCache: num(s.bytesServedFromCache),
    };
  });
  const reading: MirrorReading = { upstreams };
  if (stats) {
    reading.counters = {
      hits: num(stats.hits) ?? 0,
      misses: num(stats.misses) ?? 0,
      joined: num(stats.joined) ?? 0,
      stale: num(stats.stale) ?? 0,
      bytesServedFromCache: num(stats.bytesServedFromCache) ?? 0,
      bytesFetched: upstreams.reduce((sum, u) => sum + (u.bytesFetched ?? 0), 0),
      cacheBytes: num(stats.cacheBytes),
      evictedImages: num(stats.evictedImages),
    };
  }
  if (!ledger) return reading;
  const book = obj(m?.ledger);
  const images = imageList(await call(book, 'allImages'))?.slice(0, MAX_LEDGER_IMAGES);
  if (images) {
    reading.images = images;
    for (const u of upstreams) {
      u.cachedImages = images.filter((i) => i.repository.startsWith(`${u.name}/`)).length;
    }
  }
  reading.evictionOrder = imageList(await call(book, 'leastRecentlyUsed', evictionRows));
  return reading;
}

function imageList(value: unknown): CachedImageView[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.flatMap((v) => {
    const i = obj(v);
    if (!i || typeof i.repository !== 'string' || typeof i.digest !== 'string') return [];
    return [{ repository: i.repository, digest: i.digest, size: num(i.size) ?? 0, lastAccess: num(i.lastAccess) ?? 0 }];
  });
}
