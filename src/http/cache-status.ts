/** The headers of a cache outcome: RFC 9211 Cache-Status, a Warning on stale answers, and containerd's namespace. */
import type { CacheOutcome } from '../core/read-through.ts';
import type { HeaderRecord } from './representations.ts';

// Marina's own word for each outcome goes in `detail`.
const CACHE_STATUS: Record<CacheOutcome, string> = {
  hit: 'marina; hit',
  revalidated: 'marina; hit; detail=revalidated',
  stale: 'marina; hit; detail=stale',
  updating: 'marina; hit; detail=stale-while-revalidate',
  miss: 'marina; fwd=miss',
  joined: 'marina; fwd=miss; collapsed; detail=joined',
};

/** Adds the headers of `outcome` (none for local reads, which have no outcome) to `headers`, and returns them. */
export function withCacheStatus(headers: HeaderRecord, outcome: CacheOutcome | undefined, ns: string | null): HeaderRecord {
  if (outcome === undefined) return headers;
  headers['Cache-Status'] = CACHE_STATUS[outcome];
  if (outcome === 'stale') headers.Warning = '299 - "upstream unavailable; serving cached content that may be stale"';
  else if (outcome === 'updating') headers.Warning = '110 - "Response is Stale"';
  if (ns !== null) headers['OCI-Namespace'] = ns;
  return headers;
}
