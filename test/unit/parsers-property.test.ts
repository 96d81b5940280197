/**
 * Property tests of every parser of client input in `src/oci` and `src/core`: over generated and adversarial
 * strings (long runs of spaces, digits and separators, huge strings) each parser returns or throws only its typed
 * error, finishes every call within a time bound, and agrees with the grammar it implements.
 */
import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { lookupReference, parseReference } from '../../src/core/references.ts';
import { RegistryError } from '../../src/errors.ts';
import { digestOf, MAX_DIGEST_LENGTH, parseDigest, tryParseDigest } from '../../src/oci/digest.ts';
import { isRepositoryName, isTag, MAX_NAME_LENGTH, parseRepositoryName, parseTag } from '../../src/oci/names.ts';
import { MAX_RANGE_HEADER_LENGTH, parseContentRange, parseRangeHeader } from '../../src/oci/range.ts';
import { outcome, runs, shortOver, withinTime } from '../support/property.ts';

const LIMIT_MS = 50;
const NUM_RUNS = 200;

/** Asserts an outcome is a value or a RegistryError with one of `codes` and a 4xx status. */
function typedOnly(result: ReturnType<typeof outcome>, ...codes: string[]): void {
  if (result.ok) return;
  expect(result.error).toBeInstanceOf(RegistryError);
  const e = result.error as RegistryError;
  expect(codes).toContain(e.code);
  expect(e.status).toBeGreaterThanOrEqual(400);
  expect(e.status).toBeLessThan(500);
}

// The grammars as the distribution-spec writes them, used as oracles on short inputs only (they may backtrack).
const NAME_ORACLE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_ORACLE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_ORACLE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

const NAME_PIECES = ['a', 'z', '0', '9', '.', '_', '__', '-', '--', '/', 'A', ':', '%2e', '%2F', ' ', '\\', '..'];
const SEPARATOR_RUNS = runs(['a', '0', '-', '.', '_', '/', ' ', '9', 'aa-', 'a.', 'a_', 'a/'], 3000);

const component = fc.stringMatching(/^[a-z0-9]{1,8}(?:(?:\.|_|__|-{1,3})[a-z0-9]{1,8}){0,3}$/);
const validName = fc.array(component, { minLength: 1, maxLength: 5 }).map((c) => c.join('/')).filter((n) => n.length <= MAX_NAME_LENGTH);
const validTag = fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/);
const validDigest = fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.constantFrom('sha256' as const, 'sha512' as const)).map(([b, alg]) => digestOf(b, alg));

describe('repository names', () => {
  test('agree with the spec grammar on short strings', () => {
    fc.assert(
      fc.property(shortOver(NAME_PIECES, 30), (s) => {
        expect(isRepositoryName(s)).toBe(NAME_ORACLE.test(s));
      }),
      { numRuns: 2000 },
    );
  });

  test('accept every generated valid name and parse it back unchanged', () => {
    fc.assert(fc.property(validName, (name) => expect(parseRepositoryName(name)).toBe(name)), { numRuns: NUM_RUNS });
  });

  test('answer long runs of separators, letters and spaces quickly with NAME_INVALID or the name', () => {
    fc.assert(
      fc.property(SEPARATOR_RUNS, (s) => {
        typedOnly(withinTime(LIMIT_MS, () => outcome(() => parseRepositoryName(s))), 'NAME_INVALID');
      }),
      { numRuns: NUM_RUNS },
    );
    const huge = `${'a-'.repeat(500_000)}!`;
    typedOnly(withinTime(LIMIT_MS, () => outcome(() => parseRepositoryName(huge))), 'NAME_INVALID');
  });
});

describe('tags', () => {
  test('agree with the spec grammar on short strings', () => {
    fc.assert(fc.property(shortOver(['a', 'Z', '0', '_', '.', '-', ':', '/', ' ', '%'], 20), (s) => expect(isTag(s)).toBe(TAG_ORACLE.test(s))), {
      numRuns: 2000,
    });
    expect(isTag('a'.repeat(128))).toBe(true);
    expect(isTag('a'.repeat(129))).toBe(false);
  });

  test('parse every generated valid tag back unchanged', () => {
    fc.assert(fc.property(validTag, (tag) => expect(parseTag(tag)).toBe(tag)), { numRuns: NUM_RUNS });
  });

  test('answer hostile strings quickly with MANIFEST_INVALID or the tag', () => {
    fc.assert(
      fc.property(runs(['a', '.', '-', '_', ' ', '\n', 'é'], 100_000), (s) => {
        typedOnly(withinTime(LIMIT_MS, () => outcome(() => parseTag(s))), 'MANIFEST_INVALID');
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('digests', () => {
  test('agree with "sha256 or sha512 and lower-case hex of the exact length" on generated strings', () => {
    const hexish = fc.tuple(fc.constantFrom('sha256:', 'sha512:', 'sha384:', 'SHA256:', 'sha256', 'sha256::', ''), fc.string({ unit: fc.constantFrom('a', 'f', '0', '9', 'g', 'A', ':'), maxLength: 130 }));
    fc.assert(
      fc.property(hexish, ([alg, hex]) => {
        const s = alg + hex;
        expect(tryParseDigest(s) !== undefined).toBe(DIGEST_ORACLE.test(s));
      }),
      { numRuns: 2000 },
    );
  });

  test('parse every computed digest back unchanged (round trip)', () => {
    fc.assert(fc.property(validDigest, (d) => expect(parseDigest(d)).toBe(d)), { numRuns: NUM_RUNS });
  });

  test('answer hostile strings quickly with DIGEST_INVALID', () => {
    fc.assert(
      fc.property(runs(['sha256:', 'a', '0', ':', '+', '.', '_', '-', ' ', '='], 50_000), (s) => {
        const result = withinTime(LIMIT_MS, () => outcome(() => parseDigest(s)));
        typedOnly(result, 'DIGEST_INVALID');
        if (s.length > MAX_DIGEST_LENGTH) expect(result.ok).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('manifest references', () => {
  test('round-trip tags and digests, and throw only DIGEST_INVALID or MANIFEST_INVALID', () => {
    fc.assert(fc.property(validTag, (tag) => expect(parseReference(tag)).toEqual({ kind: 'tag', tag })), { numRuns: NUM_RUNS });
    fc.assert(fc.property(validDigest, (digest) => expect(lookupReference(digest)).toEqual({ kind: 'digest', digest })), { numRuns: NUM_RUNS });
    fc.assert(
      fc.property(fc.oneof(runs(['a', ':', '.', '-', ' ', 'sha256:'], 20_000), fc.string({ maxLength: 300 })), (s) => {
        typedOnly(withinTime(LIMIT_MS, () => outcome(() => parseReference(s))), 'DIGEST_INVALID', 'MANIFEST_INVALID');
        const looked = withinTime(LIMIT_MS, () => outcome(() => lookupReference(s)));
        typedOnly(looked, 'DIGEST_INVALID');
        if (looked.ok && looked.value === undefined) expect(isTag(s)).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

// The Range grammar as this parser reads it (single range, optional whitespace), as an oracle on short strings.
function rangeOracle(header: string, size: number): ReturnType<typeof parseRangeHeader> {
  const value = header.trim();
  if (!/^bytes=/i.test(value)) return { kind: 'full' };
  if (value.includes(',')) return { kind: 'full' };
  const m = /^bytes=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i.exec(value);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'unsatisfiable' };
  const num = (d: string) => (d.length > 16 || !Number.isSafeInteger(Number(d)) ? undefined : Number(d));
  if (m[1] === '') {
    const suffix = num(m[2]!);
    return suffix === undefined || suffix === 0 || size === 0 ? { kind: 'unsatisfiable' } : { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = num(m[1]!);
  const end = m[2] === '' ? size - 1 : num(m[2]!) ?? Number.MAX_SAFE_INTEGER;
  if (start === undefined || end < start || start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', range: { start, end: Math.min(end, size - 1) } };
}

const RANGE_PIECES = ['bytes=', 'BYTES=', ' ', '\t', '-', '0', '1', '9', ',', 'x', '/', '*', 'bytes '];
const sizeArb = fc.integer({ min: 0, max: 10_000 });

describe('Range and Content-Range', () => {
  test('Range agrees with the single-range grammar on short strings', () => {
    fc.assert(
      fc.property(shortOver(RANGE_PIECES, 12), sizeArb, (h, size) => expect(parseRangeHeader(h, size)).toEqual(rangeOracle(h, size))),
      { numRuns: 3000 },
    );
  });

  test('a formatted range re-parses to itself (clamped to the blob)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 40 }), fc.nat(), fc.nat(), (size, a, b) => {
        const start = a % size;
        const end = start + (b % (size - start));
        expect(parseRangeHeader(`bytes=${start}-${end}`, size)).toEqual({ kind: 'partial', range: { start, end } });
        expect(parseContentRange(`${start}-${end}`)).toEqual({ start, end });
        expect(parseContentRange(`bytes ${start}-${end}/${size}`)).toEqual({ start, end });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('hostile headers (the 2,000-space attack and long runs) are answered within the time bound', () => {
    const attack = `bytes=${' '.repeat(2000)}-${' '.repeat(2000)}x`;
    expect(withinTime(LIMIT_MS, () => parseRangeHeader(attack, 2048))).toEqual({ kind: 'unsatisfiable' });
    expect(withinTime(LIMIT_MS, () => parseContentRange(` ${' '.repeat(2000)}1-${' '.repeat(2000)}x`))).toBeUndefined();
    fc.assert(
      fc.property(runs(RANGE_PIECES, 20_000), sizeArb, (h, size) => {
        const range = withinTime(LIMIT_MS, () => parseRangeHeader(`bytes=${h}`, size));
        if (h.length + 6 > MAX_RANGE_HEADER_LENGTH) expect(range).toEqual({ kind: 'unsatisfiable' });
        const chunk = withinTime(LIMIT_MS, () => parseContentRange(h));
        if (h.length > MAX_RANGE_HEADER_LENGTH) expect(chunk).toBeUndefined();
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('Content-Range agrees with its grammar on short strings', () => {
    const oracle = (h: string) => {
      const m = /^(?:bytes[ =])?[ \t]*(\d+)[ \t]*-[ \t]*(\d+)[ \t]*(?:\/[ \t]*(?:\d+|\*))?$/i.exec(h.trim());
      if (!m || m[1]!.length > 16 || m[2]!.length > 16) return undefined;
      const [start, end] = [Number(m[1]), Number(m[2])];
      return Number.isSafeInteger(start) && Number.isSafeInteger(end) && end >= start ? { start, end } : undefined;
    };
    fc.assert(fc.property(shortOver(RANGE_PIECES, 12), (h) => expect(parseContentRange(h)).toEqual(oracle(h))), { numRuns: 3000 });
  });
});
