/** Access rules and repository globs, in-process: first match wins, globs are literal but for `*` and `**`. */
import { describe, expect, test } from 'bun:test';
import { accessRules } from '../../src/auth/access-rules.ts';
import { compileGlob } from '../../src/oci/repository-glob.ts';
import { parseScopes } from '../../src/auth/token-scope.ts';
import { RULES_TOML } from './support.ts';

describe('repository globs', () => {
  test('`*` stays within one path segment and `**` crosses segments', () => {
    expect(compileGlob('library/*').matches('library/base')).toBe(true);
    expect(compileGlob('library/*').matches('library/base/sub')).toBe(false);
    expect(compileGlob('team-a/**').matches('team-a/x/y/z')).toBe(true);
    expect(compileGlob('team-a/**').matches('team-b/x')).toBe(false);
    expect(compileGlob('**').matches('any/depth/at/all')).toBe(true);
    expect(compileGlob('*/app').matches('x/app')).toBe(true);
    expect(compileGlob('*/app').matches('x/y/app')).toBe(false);
  });

  test('every other character is literal: dots and brackets are not regex syntax', () => {
    expect(compileGlob('lib.ary/*').matches('libXary/base')).toBe(false);
    expect(compileGlob('a[b]/c').matches('a[b]/c')).toBe(true);
    expect(compileGlob('a+/c').matches('aa/c')).toBe(false);
  });

  test('a pathological pattern against a long name finishes quickly (no backtracking)', () => {
    const pattern = compileGlob(`${'**a'.repeat(100)}b`);
    const name = 'a'.repeat(255);
    const started = performance.now();
    expect(pattern.matches(name)).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('access rules', () => {
  const rules = accessRules(Bun.TOML.parse(RULES_TOML) as never);
  const user = (subject: string) => ({ subject, via: 'basic' as const });
  const anonymous = { subject: 'anonymous', via: 'anonymous' as const };

  test('the first rule matching caller and repository decides', () => {
    expect([...rules.actions(user('bob'), 'team-a/app')].sort()).toEqual(['pull', 'push']);
    expect([...rules.actions(user('bob'), 'library/base')]).toEqual(['pull']);
    // The later catalog rule matches secret/vault for bob: it grants catalog, not pull.
    expect(rules.allows(user('bob'), 'secret/vault', 'pull')).toBe(false);
  });

  test('groups from the file give their members the group rules', () => {
    expect(rules.allows(user('alice'), 'secret/vault', 'delete')).toBe(true);
  });

  test('anonymous callers match only anonymous rules, and the catalog is its own action', () => {
    expect(rules.allows(anonymous, 'public/hello', 'pull')).toBe(true);
    expect(rules.allows(anonymous, 'library/base', 'pull')).toBe(false);
    expect(rules.allows(anonymous, null, 'catalog')).toBe(false);
    expect(rules.allows(user('carol'), null, 'catalog')).toBe(true);
  });

  test('token groups and subject globs match', () => {
    const r = accessRules({ rules: [{ groups: ['ci'], repositories: ['ci/**'], actions: ['push'] }, { subjects: ['project_path:team-a/*'], repositories: ['team-a/**'], actions: ['pull'] }] });
    expect(r.allows({ subject: 'runner', groups: ['ci'], via: 'oidc' }, 'ci/cache', 'push')).toBe(true);
    expect(r.allows({ subject: 'project_path:team-a/web', via: 'oidc' }, 'team-a/web', 'pull')).toBe(true);
    expect(r.allows({ subject: 'project_path:team-b/web', via: 'oidc' }, 'team-a/web', 'pull')).toBe(false);
  });

  test('a rules file with an unknown action or field is refused with its path', () => {
    expect(() => accessRules({ rules: [{ users: ['x'], repositories: ['a'], actions: ['own' as never] }] })).toThrow(/actions/);
    expect(() => accessRules({ rules: [{ users: ['x'], repositories: ['a'], actions: [], extra: 1 } as never] })).toThrow(/invalid access rules/);
  });
});

describe('token scopes', () => {
  test('parses repository and catalog scopes, several per parameter, and drops what it does not understand', () => {
    expect(parseScopes(['repository:a/b:pull,push', 'registry:catalog:* repository:c:delete', 'repository:Bad Name:pull', 'repository(plugin):x:pull', 'junk'])).toEqual([
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['catalog'] },
      { type: 'repository', name: 'c', actions: ['delete'] },
    ]);
  });

  test('`*` asks for every repository action', () => {
    expect(parseScopes(['repository:x/y:*'])).toEqual([{ type: 'repository', name: 'x/y', actions: ['pull', 'push', 'delete'] }]);
  });
});
