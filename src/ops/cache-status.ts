/** Reads back the cache outcome the mirror put into a response's RFC 9211 Cache-Status header. */

/** One of hit, miss, joined, stale, revalidated; 'other' for a value Marina did not write. */
export type CacheOutcomeLabel = 'hit' | 'miss' | 'joined' | 'stale' | 'revalidated' | 'other';

/** The outcome of a Cache-Status value (`marina; hit; detail=stale`, `marina; fwd=miss`, ...). Bounded work. */
export function cacheOutcome(value: string): CacheOutcomeLabel {
  const v = value.length > 200 ? value.slice(0, 200) : value;
  const detail = v.indexOf('detail=');
  if (detail >= 0) {
    const word = v.slice(detail + 7).split(/[;,\s]/, 1)[0];
    if (word === 'joined' || word === 'stale' || word === 'revalidated') return word;
  }
  if (v.includes('fwd=miss')) return 'miss';
  if (v.includes('; hit')) return 'hit';
  return 'other';
}
