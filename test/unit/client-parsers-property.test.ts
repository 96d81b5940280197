/**
 * Property tests of what the client library (and so the mirror) reads from a possibly hostile upstream: the
 * `Link` and `WWW-Authenticate` headers; and of the operator's size strings. None throws, each call finishes within
 * a time bound, and well-formed values round-trip.
 */
import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { parseSize } from '../../src/cli/config.ts';
import { MAX_LINK_HEADER_LENGTH, nextLink } from '../../src/client/link.ts';
import { MAX_WWW_AUTHENTICATE_LENGTH, parseChallenges } from '../../src/client/www-authenticate.ts';
import { outcome, runs, withinTime } from '../support/property.ts';

const LIMIT_MS = 50;
const NUM_RUNS = 200;
const BASE = 'https://registry.example/v2/x/tags/list';

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,12}$/);
const paramValue = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', ',', '=', '"', '\\', ':', '/', '.'), maxLength: 30 });
const quote = (v: string) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;

describe('WWW-Authenticate', () => {
  test('challenges with quoted parameters round-trip', () => {
    const challenge = fc.record({ scheme: token, params: fc.dictionary(token.map((t) => t.toLowerCase()), paramValue, { maxKeys: 4 }) });
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 3 }), (challenges) => {
        const header = challenges.map((c) => [c.scheme, Object.entries(c.params).map(([k, v]) => `${k}=${quote(v)}`).join(', ')].join(' ')).join(', ');
        expect(parseChallenges(header)).toEqual(challenges.map((c) => ({ scheme: c.scheme.toLowerCase(), params: c.params })));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('reads a Bearer challenge as registries send it', () => {
    expect(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' } },
    ]);
  });

  test('hostile values never throw and stay within the time bound; oversized ones yield no challenge', () => {
    fc.assert(
      fc.property(runs([' ', ',', '=', '"', '\\', 'Bearer', 'a', '!', '\t'], 30_000), (h) => {
        const result = withinTime(LIMIT_MS, () => outcome(() => parseChallenges(h)));
        expect(result.ok).toBe(true);
        if (h.length > MAX_WWW_AUTHENTICATE_LENGTH) expect((result as { value: unknown[] }).value).toEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
    const spaces = `Bearer${' '.repeat(MAX_WWW_AUTHENTICATE_LENGTH - 7)}!`;
    withinTime(LIMIT_MS, () => parseChallenges(spaces));
  });
});

describe('Link', () => {
  test('the rel="next" target of a list of links round-trips, resolved against the request URL', () => {
    const path = fc.stringMatching(/^\/v2\/[a-z]{1,8}\/tags\/list\?n=[0-9]{1,3}&last=[a-z0-9]{1,10}$/);
    fc.assert(
      fc.property(path, fc.constantFrom('rel="next"', 'rel=next', 'rel="prev next"', 'REL = "next"'), fc.boolean(), (p, rel, withOther) => {
        const header = `${withOther ? '</v2/other>; rel="prev", ' : ''}<${p}>; ${rel}; type="application/json"`;
        expect(nextLink(header, BASE)).toBe(new URL(p, BASE).toString());
      }),
      { numRuns: NUM_RUNS },
    );
    expect(nextLink('</v2/x?last=b>; rel="prev"', BASE)).toBeUndefined();
  });

  test('hostile values never throw (an invalid URL is no next page) and stay within the time bound', () => {
    expect(nextLink('<http://[::1>; rel="next"', BASE)).toBeUndefined();
    fc.assert(
      fc.property(runs(['<', '>', ';', ',', ' ', 'rel', '=', '"', 'next', '\\', 'http://[', 'a'], 30_000), (h) => {
        const result = withinTime(LIMIT_MS, () => outcome(() => nextLink(h, BASE)));
        expect(result.ok).toBe(true);
        if (h.length > MAX_LINK_HEADER_LENGTH) expect((result as { value: unknown }).value).toBeUndefined();
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('size strings (config)', () => {
  test('formatted sizes round-trip and hostile strings fail fast with an Error', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), fc.constantFrom(['', 1], ['KiB', 1024], ['MB', 1e6], ['GiB', 1024 ** 3]), (n, [unit, factor]) => {
        expect(parseSize(`${n}${unit}`)).toBe(n * (factor as number));
      }),
      { numRuns: NUM_RUNS },
    );
    fc.assert(
      fc.property(runs([' ', '1', '.', 'k', 'i', 'b', 'x'], 20_000), (s) => {
        const result = withinTime(LIMIT_MS, () => outcome(() => parseSize(s)));
        if (!result.ok) expect(result.error).toBeInstanceOf(Error);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
