/**
 * Who is calling: the shared first step of the providers. Checks Basic credentials against the users, logs failed
 * logins with user and address (never the password), and decides with the access rules what a caller may do.
 */
import type { AuthAction, Identity } from '../http/auth.ts';
import type { Logger } from '../logger.ts';
import type { AccessRules } from './access-rules.ts';
import type { BasicCredentials } from './basic-credentials.ts';
import { clientAddress } from './client-address.ts';
import type { HtpasswdUsers } from './htpasswd-users.ts';

/** The caller without credentials. */
export const ANONYMOUS: Identity = Object.freeze({ subject: 'anonymous', via: 'anonymous' });

/** Checks Basic credentials; logs and returns undefined when they are wrong. */
export async function loginWithPassword(
  users: HtpasswdUsers | undefined,
  credentials: BasicCredentials,
  request: Request,
  logger: Logger | undefined,
): Promise<Identity | undefined> {
  if (users && (await users.verify(credentials.user, credentials.password))) return { subject: credentials.user, via: 'basic' };
  logFailure(logger, request, 'wrong user name or password', credentials.user);
  return undefined;
}

/** Logs a failed authentication (user name and address; never a secret). */
export function logFailure(logger: Logger | undefined, request: Request, reason: string, user?: string): void {
  logger?.warn('authentication failed', { reason, user: user?.slice(0, 128), address: clientAddress(request), path: new URL(request.url).pathname.slice(0, 200) });
}

/**
 * A caller's rights: the access rules when given; otherwise every user and token subject may do everything, and
 * anonymous callers and identity tokens (OIDC) nothing: whoever can get a job token of a public CI issuer (anyone
 * with an account there) could otherwise push and delete here. Identity tokens need rules naming their subjects.
 */
export function mayDo(rules: AccessRules | undefined, identity: Identity, repository: string | null, action: AuthAction): boolean {
  if (rules) return rules.allows(identity, repository, action);
  return identity.via !== 'anonymous' && identity.via !== 'oidc';
}
