/**
 * Access rules: who (users, groups, `anonymous`, token subjects) may do what (pull, push, delete, catalog) to
 * which repositories (globs). Rules are read from a TOML or JSON file and validated; the first rule that matches
 * both the caller and the repository decides, and a caller no rule matches may do nothing.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import * as fs from 'node:fs';
import type { AuthAction, Identity } from '../http/auth.ts';
import { compileGlob, type Glob } from '../oci/repository-glob.ts';

const ActionSchema = Type.Union([Type.Literal('pull'), Type.Literal('push'), Type.Literal('delete'), Type.Literal('catalog'), Type.Literal('*')]);
const Names = Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 10_000 });

/** One rule as written in the file. */
export const AccessRuleSchema = Type.Object(
  {
    /** User names (exact), or `*` for any authenticated caller. */
    users: Type.Optional(Names),
    /** Group names: from the file's `groups` table or the caller's token claims. */
    groups: Type.Optional(Names),
    /** Token subjects (globs), e.g. `project_path:team-a/*`. */
    subjects: Type.Optional(Names),
    /** Callers without credentials. */
    anonymous: Type.Optional(Type.Boolean()),
    /** Repository globs: `library/*` (one segment), `team-a/**` (any depth), `*` and `**`. */
    repositories: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 10_000 }),
    /** What the rule grants; `*` is all four. An empty list denies (useful before a broader rule). */
    actions: Type.Array(ActionSchema, { maxItems: 5 }),
  },
  { additionalProperties: false },
);

/** A rules file. */
export const AccessFileSchema = Type.Object(
  {
    groups: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Names)),
    rules: Type.Array(AccessRuleSchema, { maxItems: 10_000 }),
  },
  { additionalProperties: false },
);

export type AccessFile = Static<typeof AccessFileSchema>;

const ALL: readonly AuthAction[] = ['pull', 'push', 'delete', 'catalog'];

interface CompiledRule {
  users: Set<string>;
  anyUser: boolean;
  groups: Set<string>;
  subjects: Glob[];
  anonymous: boolean;
  repositories: Glob[];
  actions: ReadonlySet<AuthAction>;
}

/** A loaded rule set. */
export interface AccessRules {
  /** The actions `identity` may take on `repository` (the first matching rule's, or none). */
  actions(identity: Identity | undefined, repository: string): ReadonlySet<AuthAction>;
  /** Whether `identity` may do `action`; for `catalog` (registry-wide) any matching rule granting it counts. */
  allows(identity: Identity | undefined, repository: string | null, action: AuthAction): boolean;
}

const NONE: ReadonlySet<AuthAction> = new Set();

/** Builds rules from a parsed object (e.g. the contents of a rules file). @throws with the offending field */
export function accessRules(source: AccessFile | { file: string }): AccessRules {
  const spec = 'file' in source ? readAccessFile(source.file) : checkAccessFile(source, 'access rules');
  const members = new Map<string, Set<string>>();
  for (const [group, users] of Object.entries(spec.groups ?? {})) {
    for (const user of users) members.set(user, (members.get(user) ?? new Set()).add(group));
  }
  const rules: CompiledRule[] = spec.rules.map((r) => ({
    users: new Set(r.users?.filter((u) => u !== '*')),
    anyUser: r.users?.includes('*') ?? false,
    groups: new Set(r.groups),
    subjects: (r.subjects ?? []).map(compileGlob),
    anonymous: r.anonymous ?? false,
    repositories: r.repositories.map(compileGlob),
    actions: new Set(r.actions.includes('*') ? ALL : (r.actions as AuthAction[])),
  }));

  const applies = (rule: CompiledRule, identity: Identity | undefined): boolean => {
    if (!identity || identity.via === 'anonymous') return rule.anonymous;
    if (rule.anyUser || rule.users.has(identity.subject)) return true;
    if (rule.subjects.some((g) => g.matches(identity.subject))) return true;
    if (rule.groups.size === 0) return false;
    const groups = [...(identity.groups ?? []), ...(members.get(identity.subject) ?? [])];
    return groups.some((g) => rule.groups.has(g));
  };
  const actions = (identity: Identity | undefined, repository: string): ReadonlySet<AuthAction> => {
    for (const rule of rules) if (applies(rule, identity) && rule.repositories.some((g) => g.matches(repository))) return rule.actions;
    return NONE;
  };
  return {
    actions,
    allows(identity, repository, action) {
      if (action === 'catalog' || repository === null) {
        return rules.some((rule) => applies(rule, identity) && rule.actions.has(action === 'catalog' ? 'catalog' : action));
      }
      return actions(identity, repository).has(action);
    },
  };
}

/** Reads and validates a rules file (`.toml` with Bun's TOML parser, anything else as JSON). */
export function readAccessFile(file: string): AccessFile {
  const text = fs.readFileSync(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = file.endsWith('.toml') ? Bun.TOML.parse(text) : JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  return checkAccessFile(parsed, file);
}

function checkAccessFile(value: unknown, where: string): AccessFile {
  const problems = [...Value.Errors(AccessFileSchema, value)].slice(0, 5).map((e) => `${e.path || '(root)'}: ${e.message}`);
  if (problems.length) throw new Error(`${where}: invalid access rules:\n  ${problems.join('\n  ')}`);
  const spec = value as AccessFile;
  for (const rule of spec.rules) for (const g of rule.repositories) compileGlob(g);
  return spec;
}
