/** The authorization hook contract and how its answers become 401/403 errors. */
import type { Identity } from '../core/actor.ts';
import { RegistryError } from '../errors.ts';

/**
 * What a request wants to do. `catalog` is listing the repositories (`/v2/_catalog`); it is asked with
 * `repository: null`, and every listed repository is then asked `pull` with `indirect: 'listing'`.
 */
export type AuthAction = 'pull' | 'push' | 'delete' | 'catalog';

export type { Identity } from '../core/actor.ts';
/** What the hook is asked. `repository` is null for registry-wide endpoints (`/v2/`, `/v2/_catalog`). */
export interface AuthRequest {
  request: Request;
  repository: string | null;
  action: AuthAction;
  /**
   * Set when the request reaches `repository` only indirectly: as an entry of a catalog listing the caller was
   * already allowed (`listing`), or as the source of a cross-repository mount (`mount`). Token providers answer
   * these from the caller's rights rather than from the scopes of the token in hand, which clients cannot know
   * to ask for (an anonymous mount names no source).
   */
  indirect?: 'listing' | 'mount';
  /** True when the repository is served by the pull-through mirror (rate limits give mirrors their own budget). */
  mirrored?: boolean;
}

/**
 * The hook's answer: allow; or refuse, either with a `challenge` (401 UNAUTHORIZED with that WWW-Authenticate
 * value, so the client can log in and retry) or without one (403 DENIED). `identity` names the caller for
 * logs, events and listings.
 */
export type AuthResult =
  | { allow: true; identity?: Identity }
  | { allow: false; challenge?: string; message?: string; identity?: Identity };

/** An application's authorization hook. It may throw a RegistryError (e.g. TOOMANYREQUESTS) to answer it. */
export type Authorize = (request: AuthRequest) => AuthResult | Promise<AuthResult>;

/** Runs the hook; throws the error its refusal stands for, and returns the caller's identity when allowed. */
export async function enforce(authorize: Authorize | undefined, request: AuthRequest): Promise<Identity | undefined> {
  if (!authorize) return undefined;
  const result = await authorize(request);
  if (result.allow) return result.identity;
  if (result.challenge) {
    throw new RegistryError('UNAUTHORIZED', result.message, { headers: { 'WWW-Authenticate': result.challenge } });
  }
  throw new RegistryError('DENIED', result.message);
}

/** Asks without throwing (for optional sources such as a mount's `from`, and catalog entries). */
export async function permits(authorize: Authorize | undefined, request: AuthRequest): Promise<boolean> {
  return !authorize || (await authorize(request)).allow;
}
