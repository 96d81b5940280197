/**
 * `tokenAuth`: the `authorize` provider for the token flow. A caller without a token is challenged with
 * `WWW-Authenticate: Bearer realm=…,service=…,scope=…`; a bearer token (Marina's own or a trusted issuer's) is
 * checked and its `access` claim (or, for identity tokens, the access rules) decides. Basic credentials sent
 * straight to `/v2/` are accepted too. Also serves the `/token` endpoint when it has a signing key.
 */
import { createLocalJWKSet, type JWK } from 'jose';
import type { Authorize, AuthAction, AuthResult, Identity } from '../http/auth.ts';
import type { Logger } from '../logger.ts';
import type { AccessRules } from './access-rules.ts';
import { presentedCredentials } from './basic-credentials.ts';
import type { HtpasswdUsers } from './htpasswd-users.ts';
import { ANONYMOUS, logFailure, loginWithPassword, mayDo } from './login.ts';
import type { SigningKey } from './signing-key.ts';
import { tokenEndpoint } from './token-service.ts';
import { challengeScope, type Grants } from './token-scope.ts';
import { tokenVerifier, type TrustedIssuer } from './token-verifier.ts';

/** The `iss` of Marina's own tokens unless {@link TokenAuthOptions.issuer} says otherwise. */
export const DEFAULT_ISSUER = 'marina';

/** Options of {@link tokenAuth}. */
export interface TokenAuthOptions {
  /** The service name: the `service` of challenges and the audience tokens must carry. @default "marina" */
  service?: string;
  /** The token endpoint URL in challenges. @default `<origin of the request>/token` */
  realm?: string;
  /** Marina's own issuer name (`iss`). @default {@link DEFAULT_ISSUER} */
  issuer?: string;
  /** Signs Marina's own tokens; without it only external issuers' tokens are accepted and `/token` is off. */
  signingKey?: SigningKey;
  /** Token lifetime. @default 300 s */
  ttlSeconds?: number;
  /** Users for the token endpoint and for Basic credentials sent straight to `/v2/`. */
  users?: HtpasswdUsers;
  /** Who may do what; without rules every user and token subject may do everything, anonymous callers and identity tokens nothing. */
  rules?: AccessRules;
  /** Other issuers whose tokens are accepted (with their JWKS). */
  trusted?: TrustedIssuer[];
  /** Clock leeway for exp/nbf. @default 30 s */
  leewaySeconds?: number;
  logger?: Logger;
}

/** The provider, and the token endpoint to mount at `/token`. */
export interface TokenAuth {
  authorize: Authorize;
  /** Answers `GET|POST /token`; undefined without a signing key. */
  tokenEndpoint?: (request: Request) => Promise<Response>;
  /** Public keys of Marina's own tokens (for other services that check them). */
  jwks(): { keys: JWK[] };
}

type Caller = { identity: Identity; grants?: Grants; issuer?: string } | { error: string };

/** Builds the provider. */
export function tokenAuth(options: TokenAuthOptions): TokenAuth {
  const service = options.service ?? 'marina';
  const issuer = options.issuer ?? DEFAULT_ISSUER;
  const key = options.signingKey;
  const issuers: TrustedIssuer[] = [...(options.trusted ?? [])];
  // One name for two issuers: one set of keys would win, and the external issuer's subjects would be taken for users
  // of Marina's own tokens (whose rights the rules give).
  if (key && issuers.some((t) => t.issuer === issuer)) throw new Error(`token issuer "${issuer}" is the name of Marina's own tokens; trust the external issuer under its own iss`);
  if (key) issuers.unshift({ issuer, keys: createLocalJWKSet({ keys: [key.publicJwk] }) });
  const verify = tokenVerifier({ audience: service, issuers, leewaySeconds: options.leewaySeconds });
  const external = tokenVerifier({ audience: service, issuers: options.trusted ?? [], leewaySeconds: options.leewaySeconds });
  const callers = new WeakMap<Request, Promise<Caller>>();

  const identify = (request: Request): Promise<Caller> => {
    let found = callers.get(request);
    if (!found) {
      found = (async (): Promise<Caller> => {
        const presented = presentedCredentials(request);
        if (presented.kind === 'none') return { identity: ANONYMOUS };
        if (presented.kind === 'invalid') return fail(request, 'unreadable Authorization header');
        if (presented.kind === 'basic') {
          const identity = await loginWithPassword(options.users, presented.credentials, request, options.logger);
          return identity ? { identity } : { error: 'invalid user name or password' };
        }
        const checked = await verify(presented.token);
        return 'error' in checked ? fail(request, checked.error) : checked;
      })();
      callers.set(request, found);
    }
    return found;
  };
  const fail = (request: Request, reason: string): Caller => {
    logFailure(options.logger, request, reason);
    return { error: reason };
  };

  const challenge = (request: Request, repository: string | null, action: AuthAction, error?: string): string => {
    const realm = options.realm ?? `${new URL(request.url).origin}/token`;
    const scope = challengeScope(repository, action);
    return `Bearer realm="${quote(realm)}",service="${quote(service)}"${scope ? `,scope="${scope}"` : ''}${error ? `,error="${error}"` : ''}`;
  };

  const authorize: Authorize = async ({ request, repository, action, indirect }): Promise<AuthResult> => {
    const caller = await identify(request);
    if ('error' in caller) return { allow: false, challenge: challenge(request, repository, action, 'invalid_token'), message: caller.error };
    const { identity, grants } = caller;
    // Only for Marina's own tokens does it know that no token would grant more.
    const ownToken = key !== undefined && caller.issuer === issuer;
    // Anonymous and holding no token: the only caller a challenge can help without a token in hand.
    const anonymous = identity.via === 'anonymous' && !grants;
    const denied: AuthResult = { allow: false, identity, message: `${identity.subject} may not ${action} ${repository ?? 'the catalog'}` };
    // Who could get further with a (better) token is challenged; a logged-in caller the rules refuse is denied.
    const refuse = (): AuthResult =>
      anonymous || grants ? { allow: false, identity, challenge: challenge(request, repository, action, identity.via === 'anonymous' ? undefined : 'insufficient_scope') } : denied;
    // The base probe: any valid token or login passes; without credentials the client learns where to get a token.
    if (repository === null && action === 'pull') return anonymous ? refuse() : { allow: true, identity };
    // Catalog entries and mount sources: the subject of one of our tokens has the rights the rules give it.
    if (grants && indirect && (ownToken || (indirect === 'listing' && !options.rules))) {
      return mayDo(options.rules, identity, repository, action) ? { allow: true, identity } : { allow: false, identity };
    }
    if (grants) {
      const granted = action === 'catalog' ? grants.catalog : repository !== null && (grants.repositories.get(repository)?.has(action) ?? false);
      if (granted) return { allow: true, identity };
      // A token that could be widened gets a challenge (the client asks again); one of ours the rules would refuse anyway gets 403.
      if (ownToken && options.rules && identity.via !== 'anonymous' && !options.rules.allows(identity, repository, action)) return denied;
      return refuse();
    }
    if (mayDo(options.rules, identity, repository, action)) return { allow: true, identity };
    return refuse();
  };

  return {
    authorize,
    tokenEndpoint: key
      ? tokenEndpoint({
          service,
          issuer,
          key,
          ttlSeconds: options.ttlSeconds,
          users: options.users,
          rules: options.rules,
          logger: options.logger,
          identityFromToken: options.trusted?.length
            ? async (token) => {
                const checked = await external(token);
                return 'error' in checked || checked.grants ? undefined : checked.identity;
              }
            : undefined,
        })
      : undefined,
    jwks: () => ({ keys: key ? [key.publicJwk] : [] }),
  };
}

function quote(value: string): string {
  return value.replace(/["\\]/g, '');
}
