/**
 * Token scopes (`repository:<name>:pull,push`, `registry:catalog:*`) and the `access` claim of registry tokens,
 * both ways: parse what a client asks for, and read what a token grants. Everything is bounded before it is split.
 */
import type { AuthAction } from '../http/auth.ts';
import { parseRepositoryName } from '../oci/names.ts';

/** Most scopes honoured in one token request; longer lists are cut. */
export const MAX_SCOPES = 32;
const MAX_SCOPE_LENGTH = 1024;
const REPOSITORY_ACTIONS: readonly AuthAction[] = ['pull', 'push', 'delete'];

/** One requested or granted scope. */
export interface Scope {
  type: 'repository' | 'registry';
  /** A repository name, or `catalog` for the registry type. */
  name: string;
  actions: AuthAction[];
}

/** One entry of a token's `access` claim, as the Docker token spec writes it. */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/** Parses the `scope` parameters of a token request; unreadable or unknown scopes are dropped, not refused. */
export function parseScopes(values: string[]): Scope[] {
  const scopes: Scope[] = [];
  for (const value of values.slice(0, MAX_SCOPES)) {
    // One parameter may hold several space-separated scopes (OAuth2 form).
    for (const text of value.slice(0, MAX_SCOPE_LENGTH * 4).split(' ')) {
      const scope = parseScope(text);
      if (scope && scopes.length < MAX_SCOPES) scopes.push(scope);
    }
  }
  return scopes;
}

function parseScope(text: string): Scope | undefined {
  if (text.length === 0 || text.length > MAX_SCOPE_LENGTH) return undefined;
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = text.slice(0, first);
  const name = text.slice(first + 1, last);
  const actions = text.slice(last + 1).split(',');
  if (type === 'registry') return name === 'catalog' ? { type, name, actions: ['catalog'] } : undefined;
  // `repository(plugin)` and other decorated types are not Marina's; unknown types grant nothing.
  if (type !== 'repository') return undefined;
  try {
    parseRepositoryName(name);
  } catch {
    return undefined;
  }
  const wanted = actions.includes('*') ? [...REPOSITORY_ACTIONS] : REPOSITORY_ACTIONS.filter((a) => actions.includes(a));
  return { type, name, actions: wanted };
}

/** The scope a client needs for an action, for a challenge's `scope` parameter. */
export function challengeScope(repository: string | null, action: AuthAction): string | undefined {
  if (action === 'catalog') return 'registry:catalog:*';
  if (repository === null) return undefined;
  // Pushing clients also read (blob HEADs, mounts), and they ask for both at once.
  return `repository:${repository}:${action === 'push' ? 'pull,push' : action}`;
}

/** What a token's `access` claim grants: repository → actions, and whether it may list the catalog. */
export interface Grants {
  repositories: Map<string, Set<AuthAction>>;
  catalog: boolean;
}

/** Reads an `access` claim (ignoring entries it does not understand). */
export function grantsOf(access: unknown): Grants {
  const grants: Grants = { repositories: new Map(), catalog: false };
  if (!Array.isArray(access)) return grants;
  for (const entry of access.slice(0, 1000)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { type, name, actions } = entry as Partial<AccessEntry>;
    if (typeof name !== 'string' || !Array.isArray(actions)) continue;
    if (type === 'registry' && name === 'catalog' && (actions.includes('*') || actions.includes('catalog'))) grants.catalog = true;
    if (type !== 'repository') continue;
    const set = grants.repositories.get(name) ?? new Set<AuthAction>();
    for (const a of actions) {
      if (a === '*') REPOSITORY_ACTIONS.forEach((x) => set.add(x));
      else if ((REPOSITORY_ACTIONS as string[]).includes(a)) set.add(a as AuthAction);
    }
    grants.repositories.set(name, set);
  }
  return grants;
}

/** The `access` claim for granted scopes; scopes with nothing granted are left out. */
export function accessClaim(granted: Scope[]): AccessEntry[] {
  const merged = new Map<string, AccessEntry>();
  for (const s of granted) {
    if (s.actions.length === 0) continue;
    const key = `${s.type}:${s.name}`;
    const actions = s.type === 'registry' ? ['*'] : s.actions;
    const entry = merged.get(key);
    if (entry) entry.actions = [...new Set([...entry.actions, ...actions])];
    else merged.set(key, { type: s.type, name: s.name, actions: [...actions] });
  }
  return [...merged.values()];
}
