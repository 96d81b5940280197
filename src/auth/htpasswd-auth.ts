/**
 * `htpasswdAuth`: an `authorize` provider for Basic credentials checked against htpasswd users (Distribution's
 * htpasswd mode), with optional access rules. A caller without (or with wrong) credentials is challenged with
 * 401 + `WWW-Authenticate: Basic`; an authenticated caller the rules refuse gets 403 DENIED.
 */
import type { Authorize, Identity } from '../http/auth.ts';
import type { Logger } from '../logger.ts';
import type { AccessRules } from './access-rules.ts';
import { presentedCredentials } from './basic-credentials.ts';
import { htpasswdUsers, type HtpasswdUsers, type HtpasswdUsersOptions } from './htpasswd-users.ts';
import { ANONYMOUS, logFailure, loginWithPassword, mayDo } from './login.ts';

/** Options of {@link htpasswdAuth}. */
export interface HtpasswdAuthOptions {
  /** The users: a loaded store, or where to load it from. */
  users: HtpasswdUsers | HtpasswdUsersOptions;
  /** Who may do what; without rules every authenticated user may do everything and anonymous callers nothing. */
  rules?: AccessRules;
  /** The Basic realm shown by clients. @default "marina" */
  realm?: string;
  /** Where failed logins are logged. */
  logger?: Logger;
}

/** Builds the provider. */
export function htpasswdAuth(options: HtpasswdAuthOptions): Authorize {
  const users = 'verify' in options.users ? options.users : htpasswdUsers(options.users);
  const challenge = `Basic realm="${(options.realm ?? 'marina').replace(/["\\]/g, '')}"`;
  // A request is authorized several times (its own action, a mount source, catalog entries): log in once.
  const identities = new WeakMap<Request, Promise<Identity | undefined>>();
  const identify = (request: Request): Promise<Identity | undefined> => {
    let found = identities.get(request);
    if (!found) {
      const presented = presentedCredentials(request);
      if (presented.kind === 'none') found = Promise.resolve(ANONYMOUS);
      else if (presented.kind === 'basic') found = loginWithPassword(users, presented.credentials, request, options.logger);
      else {
        logFailure(options.logger, request, presented.kind === 'bearer' ? 'bearer token without a token service' : 'unreadable Authorization header');
        found = Promise.resolve(undefined);
      }
      identities.set(request, found);
    }
    return found;
  };
  return async ({ request, repository, action }) => {
    const identity = await identify(request);
    if (!identity) return { allow: false, challenge, message: 'invalid user name or password' };
    const anonymous = identity.via === 'anonymous';
    // The base probe tells clients to log in; an authenticated caller may always ask it.
    if (repository === null && action === 'pull') return anonymous ? { allow: false, challenge, identity } : { allow: true, identity };
    if (mayDo(options.rules, identity, repository, action)) return { allow: true, identity };
    return anonymous ? { allow: false, challenge, identity } : { allow: false, identity, message: `${identity.subject} may not ${action} ${repository ?? 'the catalog'}` };
  };
}
