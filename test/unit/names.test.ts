import { describe, expect, test } from 'bun:test';
import { RegistryError } from '../../src/errors.ts';
import { isRepositoryName, isTag, MAX_NAME_LENGTH, parseRepositoryName, parseTag } from '../../src/oci/names.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof RegistryError ? `${e.code} ${e.status}` : 'not a RegistryError';
  }
  return undefined;
}

describe('repository names', () => {
  test.each(['a', 'library/ubuntu', 'a/b/c/d', 'my-repo', 'my--repo', 'my_repo', 'my__repo', 'my.repo', 'a0/b1', '0'])(
    'accepts %s',
    (name) => {
      expect(isRepositoryName(name)).toBe(true);
      expect(parseRepositoryName(name)).toBe(name);
    },
  );

  test.each([
    ['upper case', 'Library/ubuntu'],
    ['a parent component', 'a/../b'],
    ['a dot component', 'a/./b'],
    ['a double dot inside a component', 'a..b'],
    ['a triple underscore', 'a___b'],
    ['a leading separator', '-a'],
    ['a trailing separator', 'a-'],
    ['a leading slash', '/a'],
    ['a trailing slash', 'a/'],
    ['an empty component', 'a//b'],
    ['a percent-encoded slash', 'a%2Fb'],
    ['a percent-encoded dot', 'a/%2e%2e/b'],
    ['a colon', 'a:b'],
    ['a space', 'a b'],
    ['an empty name', ''],
    ['a non-ASCII letter', 'caf\u00e9'],
    ['a trailing newline', 'a\n'],
  ])('rejects %s with NAME_INVALID 400', (_what, name) => {
    expect(isRepositoryName(name)).toBe(false);
    expect(codeOf(() => parseRepositoryName(name))).toBe('NAME_INVALID 400');
  });

  test('accepts a name of exactly the maximum length and rejects one byte more', () => {
    const longest = `${'a'.repeat(100)}/${'b'.repeat(MAX_NAME_LENGTH - 101)}`;
    expect(longest.length).toBe(MAX_NAME_LENGTH);
    expect(isRepositoryName(longest)).toBe(true);
    expect(isRepositoryName(`${longest}c`)).toBe(false);
  });

  test('keeps the quoted name in the error message bounded', () => {
    try {
      parseRepositoryName('A'.repeat(100_000));
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(400);
    }
    expect(codeOf(() => parseRepositoryName('A'.repeat(100_000)))).toBe('NAME_INVALID 400');
  });
});

describe('tags', () => {
  test.each(['latest', 'v1.0.0', 'V1', '_private', '1', 'a-b_c.d', 'x'.repeat(128)])('accepts %s', (tag) => {
    expect(isTag(tag)).toBe(true);
    expect(parseTag(tag)).toBe(tag);
  });

  test.each([
    ['an empty tag', ''],
    ['a leading dot', '.hidden'],
    ['a leading dash', '-x'],
    ['129 characters', 'x'.repeat(129)],
    ['a colon', 'a:b'],
    ['a slash', 'a/b'],
    ['a plus', 'a+b'],
    ['a space', 'a b'],
    ['a trailing newline', 'v1\n'],
  ])('rejects %s with MANIFEST_INVALID 400', (_what, tag) => {
    expect(isTag(tag)).toBe(false);
    expect(codeOf(() => parseTag(tag))).toBe('MANIFEST_INVALID 400');
  });
});
