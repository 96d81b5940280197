/**
 * Helpers for property tests of parsers that read hostile input: generators of long runs (spaces, digits,
 * separators, brackets) that make backtracking parsers blow up, and a per-call time bound.
 */
import { expect } from 'bun:test';
import fc from 'fast-check';

/**
 * Strings made of a few runs, each one piece repeated up to `maxRun` times: `"   …-   …x"`, `"aaaa…!"`, `"[[[[…"`.
 * Built this way the generator reaches the long, uniform runs that random characters almost never produce.
 */
export function runs(pieces: readonly string[], maxRun = 5000, maxRuns = 4): fc.Arbitrary<string> {
  const run = fc.tuple(fc.constantFrom(...pieces), fc.integer({ min: 1, max: maxRun })).map(([p, n]) => p.repeat(n));
  return fc.array(run, { minLength: 1, maxLength: maxRuns }).map((parts) => parts.join(''));
}

/** Short strings over `alphabet`: small enough to compare with a reference regex that may backtrack. */
export function shortOver(alphabet: readonly string[], maxLength = 40): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...alphabet), maxLength });
}

/**
 * Runs `fn` and asserts it finishes within `limitMs`. A slow call is retried twice and only the fastest counts, so
 * a GC pause or a busy CPU does not fail the test while a parser that is slow on this input always does.
 */
export function withinTime<T>(limitMs: number, fn: () => T): T {
  let best = Infinity;
  let result!: T;
  for (let attempt = 0; attempt < 3 && best >= limitMs; attempt++) {
    const started = performance.now();
    result = fn();
    best = Math.min(best, performance.now() - started);
  }
  expect(best).toBeLessThan(limitMs);
  return result;
}

/** Calls `fn`; returns its result, or the thrown value wrapped, so a property can check what was thrown. */
export function outcome<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}
