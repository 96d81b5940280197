/** The authorization hook contract and how its answers become 401/403 errors. */
import { RegistryError } from '../errors.ts';

/** What a request wants to do to a repository. */
export type AuthAction = 'pull' | 'push' | 'delete';

/** What the hook is asked. `repository` is null for registry-wide endpoints (`/v2/`, `/v2/_catalog`). */
export interface AuthRequest {
  request: Request;
  repository: string | null;
  action: AuthAction;
}

/**
 * The hook's answer: allow; or refuse, either with a `challenge` (401 UNAUTHORIZED with that WWW-Authenticate
 * value, so the client can log in and retry) or without one (403 DENIED).
 */
export type AuthResult = { allow: true } | { allow: false; challenge?: string; message?: string };

/** An application's authorization hook. */
export type Authorize = (request: AuthRequest) => AuthResult | Promise<AuthResult>;

/** Runs the hook; throws the error its refusal stands for. */
export async function enforce(authorize: Authorize | undefined, request: AuthRequest): Promise<void> {
  if (!authorize) return;
  const result = await authorize(request);
  if (result.allow) return;
  if (result.challenge) {
    throw new RegistryError('UNAUTHORIZED', result.message, { headers: { 'WWW-Authenticate': result.challenge } });
  }
  throw new RegistryError('DENIED', result.message);
}

/** Asks without throwing (for optional sources such as a mount's `from`). */
export async function permits(authorize: Authorize | undefined, request: AuthRequest): Promise<boolean> {
  return !authorize || (await authorize(request)).allow;
}
