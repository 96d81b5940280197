/** Pull-through mirror settings. */
import type { MirrorLedger } from '../storage/mirror-ledger.ts';
import type { Credentials } from '../client/auth.ts';
import { compileLooseGlob } from '../oci/repository-glob.ts';
import type { BreakerOptions } from './breaker.ts';

/** One upstream registry. */
export interface UpstreamOptions {
  /** The namespace clients use for it: containerd's `ns` value and the path prefix, e.g. `docker.io`. */
  name: string;
  /** Base URL, e.g. `https://registry-1.docker.io`. */
  url: string;
  /**
   * Further URLs serving the same content (another mirror of it, e.g. `https://mirror.gcr.io`), tried in order when
   * the ones before are down. Credentials go to `url` only.
   */
  fallbackUrls?: string[];
  credentials?: Credentials;
  /** Token realms that may receive the credentials. @default the upstream's own host, and auth.docker.io for Docker Hub */
  trustedRealmHosts?: string[];
  /** Seconds a cached tag is served without asking upstream again. @default 300 */
  freshnessSeconds?: number;
  /** Per-repository freshness overrides: glob pattern (`*` matches any run of characters) → seconds. */
  freshnessByRepository?: Record<string, number>;
  /** Accept pushes into this namespace (a local overlay over the mirror). @default false */
  overlay?: boolean;
}

/** Mirror options of a registry. */
export interface MirrorOptions {
  upstreams: UpstreamOptions[];
  /** Upstream for requests with neither `ns` nor a known path prefix. @default the first upstream */
  defaultUpstream?: string;
  /** Cache budget in bytes for mirrored content; unlimited when absent. */
  cacheMaxBytes?: number;
  /** Eviction starts above this fraction of the budget. @default 0.95 */
  highWatermark?: number;
  /** …and stops below this fraction. @default 0.8 */
  lowWatermark?: number;
  /** Time to get response headers from an upstream before it counts as down, in ms. @default 5000 */
  upstreamTimeoutMs?: number;
  /** Whole-body deadline for small upstream bodies (manifests, tokens, tag lists), in ms. @default upstreamTimeoutMs */
  upstreamBodyTimeoutMs?: number;
  /** Upstream blob bodies slower than this over any `upstreamRateWindowMs` are cut off (and resumed). @default 16384 */
  upstreamMinBytesPerSecond?: number;
  /** The window of the minimum rate, in ms. @default 10000 */
  upstreamRateWindowMs?: number;
  /** Cap of one upstream tags or referrers page, in bytes (at most 100 pages are followed). @default 1 MiB */
  upstreamMaxListingBytes?: number;
  /**
   * Seconds past its freshness that a cached tag is still answered at once while it is revalidated in the background
   * (RFC 5861 stale-while-revalidate); later reads wait for the upstream. 0 makes every revalidation synchronous.
   * @default 86400
   */
  staleWhileRevalidateSeconds?: number;
  /** Seconds past its freshness that a cached tag may stand in when the upstream fails. @default unlimited */
  staleIfErrorSeconds?: number;
  /** Each upstream's circuit breaker (failures before it opens, cool-downs). */
  breaker?: BreakerOptions;
  /** Below this many remaining pulls (Docker Hub's ratelimit-remaining), cached tags are not revalidated. @default 10 */
  rateLimitReserve?: number;
  /** Retries of a blob fill whose upstream connection broke, resumed with Range. @default 3 */
  fillRetries?: number;
  /** Directory for in-flight fills (same filesystem as the blob store for a rename commit). */
  spoolDir: string;
  /** SQLite file of the cache ledger. */
  ledgerFile: string;
  /** A cache ledger to use instead of `ledgerFile` (a shared database for several nodes); the mirror closes it. */
  ledger?: MirrorLedger;
}

/** Docker Hub's canonical name and API host. */
export const DOCKER_HUB = { name: 'docker.io', apiHost: 'registry-1.docker.io', authHost: 'auth.docker.io' } as const;

/** The freshness window for a repository of an upstream, in ms. */
export function freshnessMs(upstream: UpstreamOptions, remoteRepository: string): number {
  for (const [pattern, seconds] of Object.entries(upstream.freshnessByRepository ?? {})) {
    if (compileLooseGlob(pattern).matches(remoteRepository)) return seconds * 1000;
  }
  return (upstream.freshnessSeconds ?? 300) * 1000;
}
