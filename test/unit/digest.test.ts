import { describe, expect, test } from 'bun:test';
import { RegistryError } from '../../src/errors.ts';
import { digestAlgorithm, digestHex, digestOf, isDigestAlgorithm, parseDigest, tryParseDigest } from '../../src/oci/digest.ts';

const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const EMPTY_SHA512 =
  'sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';

describe('digest', () => {
  test('computes the sha256 digest of bytes and of a string alike', () => {
    expect(digestOf(new Uint8Array(0))).toBe(EMPTY_SHA256 as never);
    expect(digestOf('')).toBe(EMPTY_SHA256 as never);
    expect(digestOf('hello')).toBe(digestOf(new TextEncoder().encode('hello')));
  });

  test('computes sha512 digests when asked', () => {
    expect(digestOf('', 'sha512')).toBe(EMPTY_SHA512 as never);
  });

  test('accepts well-formed sha256 and sha512 digests', () => {
    expect(parseDigest(EMPTY_SHA256)).toBe(EMPTY_SHA256 as never);
    expect(parseDigest(EMPTY_SHA512)).toBe(EMPTY_SHA512 as never);
  });

  test('splits a digest into algorithm and hex', () => {
    expect(digestAlgorithm(parseDigest(EMPTY_SHA512))).toBe('sha512');
    expect(digestHex(parseDigest(EMPTY_SHA256))).toBe(EMPTY_SHA256.slice(7));
  });

  test.each([
    ['an empty string', ''],
    ['a missing algorithm', ':' + 'a'.repeat(64)],
    ['a missing hex part', 'sha256:'],
    ['no colon', 'sha256' + 'a'.repeat(64)],
    ['upper-case hex', 'sha256:' + 'A'.repeat(64)],
    ['a short sha256', 'sha256:' + 'a'.repeat(63)],
    ['a long sha256', 'sha256:' + 'a'.repeat(65)],
    ['a sha512 with sha256 length', 'sha512:' + 'a'.repeat(64)],
    ['an unknown algorithm', 'md5:' + 'a'.repeat(32)],
    ['an upper-case algorithm', 'SHA256:' + 'a'.repeat(64)],
    ['non-hex characters', 'sha256:' + 'g'.repeat(64)],
    ['surrounding whitespace', ` ${EMPTY_SHA256}`],
    ['a trailing newline', `${EMPTY_SHA256}\n`],
    ['a path traversal', 'sha256:../../etc/passwd'],
    ['a very long value', 'sha256:' + 'a'.repeat(10_000)],
  ])('rejects %s as DIGEST_INVALID', (_what, value) => {
    expect(tryParseDigest(value)).toBeUndefined();
    let error: unknown;
    try {
      parseDigest(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('DIGEST_INVALID');
    expect((error as RegistryError).status).toBe(400);
    // The message quotes the input, but never an unbounded amount of it.
    expect((error as RegistryError).message.length).toBeLessThan(200);
  });

  test('knows exactly the algorithms it can verify', () => {
    expect(isDigestAlgorithm('sha256')).toBe(true);
    expect(isDigestAlgorithm('sha512')).toBe(true);
    expect(isDigestAlgorithm('sha384')).toBe(false);
    expect(isDigestAlgorithm('blake3')).toBe(false);
    expect(isDigestAlgorithm('')).toBe(false);
  });
});
