/**
 * Property tests of the HTTP layer's readers of client input: request targets, query parameters (n, last,
 * artifactType), If-None-Match, Accept and Content-Type. Each returns or throws its typed 4xx error, finishes
 * within a time bound on hostile input, and round-trips what it should.
 */
import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { acceptedTypes } from '../../src/core/negotiate.ts';
import { RegistryError } from '../../src/errors.ts';
import { pageQuery } from '../../src/http/listing-handlers.ts';
import { assertTargetLength, matchRoute, MAX_TARGET_LENGTH, paths, splitUrl } from '../../src/http/paths.ts';
import { ifNoneMatchHits } from '../../src/http/representations.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { normaliseContentType } from '../../src/oci/manifest.ts';
import { outcome, runs, withinTime } from '../support/property.ts';

const LIMIT_MS = 50;
const NUM_RUNS = 200;

const component = fc.stringMatching(/^[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,8}){0,2}$/);
const name = fc.array(fc.oneof(component, fc.constantFrom('blobs', 'manifests', 'uploads', 'tags', 'referrers')), { minLength: 1, maxLength: 5 }).map((c) => c.join('/'));
const tag = fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,40}$/);
const digest = fc.uint8Array({ maxLength: 32 }).map((b) => digestOf(b));

describe('request targets', () => {
  test('every path the registry hands out matches back to its route (round trip)', () => {
    fc.assert(
      fc.property(name, tag, digest, (n, t, d) => {
        expect(matchRoute(paths.manifest(n, t))).toEqual({ kind: 'manifest', name: n, reference: t });
        expect(matchRoute(paths.blob(n, d))).toEqual({ kind: 'blob', name: n, digest: d });
        expect(matchRoute(paths.tags(n))).toEqual({ kind: 'tags', name: n });
        expect(matchRoute(paths.referrers(n, d))).toEqual({ kind: 'referrers', name: n, digest: d });
        expect(matchRoute(paths.upload(n, 'abc'))).toEqual({ kind: 'upload', name: n, id: 'abc' });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('hostile paths are matched (or not) without throwing, within the time bound, and long ones refused with 414', () => {
    fc.assert(
      fc.property(runs(['/v2/', '/', 'a', '/manifests', '/blobs', '/uploads', '..', '%2e', '?', '#', ' '], 20_000), (p) => {
        const url = `http://h${p}`;
        const { pathname, search } = withinTime(LIMIT_MS, () => splitUrl(url));
        withinTime(LIMIT_MS, () => matchRoute(pathname));
        const checked = outcome(() => assertTargetLength(pathname, search));
        if (pathname.length + search.length > MAX_TARGET_LENGTH) {
          expect(checked.ok).toBe(false);
          expect((checked as { error: RegistryError }).error.status).toBe(414);
        } else expect(checked.ok).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('paging parameters n and last', () => {
  test('read back what a client sends once, and refuse repeats and bad n with a 400', () => {
    const value = fc.oneof(fc.string({ maxLength: 20 }), fc.nat({ max: 1e12 }).map(String), runs(['9', '0', ' ', '-', 'a'], 5000));
    const pair = fc.tuple(fc.constantFrom('n', 'last', 'other'), value);
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 5 }), (pairs) => {
        const q = new URLSearchParams(pairs);
        const result = withinTime(LIMIT_MS, () => outcome(() => pageQuery(q)));
        const ns = q.getAll('n');
        const lasts = q.getAll('last');
        const valid = ns.length <= 1 && lasts.length <= 1 && (ns.length === 0 || /^\d{1,9}$/.test(ns[0]!));
        expect(result.ok).toBe(valid);
        if (result.ok) {
          expect(result.value.n).toBe(ns.length ? Number(ns[0]) : undefined);
          expect(result.value.last).toBe(lasts[0]);
        } else {
          expect(result.error).toBeInstanceOf(RegistryError);
          expect((result.error as RegistryError).status).toBe(400);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('If-None-Match', () => {
  test('hits for the ETag alone, weak, in a list, and *; misses otherwise; never throws, stays fast', () => {
    fc.assert(
      fc.property(digest, fc.array(digest, { maxLength: 5 }), (d, others) => {
        const etag = `"${d}"`;
        expect(ifNoneMatchHits(etag, etag)).toBe(true);
        expect(ifNoneMatchHits(`W/${etag}`, etag)).toBe(true);
        expect(ifNoneMatchHits([...others.map((o) => `"${o}"`), etag].join(', '), etag)).toBe(true);
        expect(ifNoneMatchHits('*', etag)).toBe(true);
        expect(ifNoneMatchHits(others.filter((o) => o !== d).map((o) => `"${o}"`).join(',') || null, etag)).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
    fc.assert(
      fc.property(runs(['"', ',', ' ', 'W/', 'sha256:', 'a', '*'], 50_000), (h) => {
        withinTime(LIMIT_MS, () => ifNoneMatchHits(h, '"sha256:x"'));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('Accept and Content-Type', () => {
  test('media types are read without parameters or case, and hostile values stay fast', () => {
    const mediaType = fc.stringMatching(/^[a-z0-9][a-z0-9.+-]{0,30}\/[a-z0-9][a-z0-9.+-]{0,30}$/);
    fc.assert(
      fc.property(fc.array(mediaType, { minLength: 1, maxLength: 6 }), (types) => {
        const header = types.map((t, i) => `${i % 2 ? t.toUpperCase() : t}; q=0.${i}`).join(', ');
        expect(acceptedTypes(header)).toEqual(types);
        expect(normaliseContentType(`${types[0]!.toUpperCase()} ; charset=utf-8`)).toBe(types[0]);
      }),
      { numRuns: NUM_RUNS },
    );
    fc.assert(
      fc.property(runs([',', ';', ' ', 'a/b', '*/*', '"', '='], 50_000), (h) => {
        withinTime(LIMIT_MS, () => acceptedTypes(h));
        withinTime(LIMIT_MS, () => normaliseContentType(h));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
