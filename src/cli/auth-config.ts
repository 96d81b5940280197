/**
 * Access control for `marina serve`, from its config: htpasswd users, access rules, Marina's token service or an
 * external issuer, and rate limits, assembled into one `authorize` hook (the same providers library users get).
 */
// The providers (jose, bcrypt, TOML readers) are imported only when a config asks for them: an open registry
// starts without them.
import type { TrustedIssuer } from '../auth/token-verifier.ts';
import type { Authorize } from '../http/auth.ts';
import type { Logger } from '../logger.ts';
import type { ServeConfig } from './config.ts';

/** What the server needs: the hook, the `/token` handler, and a line for the startup log. */
export interface ServerAuth {
  authorize?: Authorize;
  tokenEndpoint?: (request: Request) => Promise<Response>;
  /** `none`, `basic` or `token`, plus the sources, for the startup log. */
  summary: string;
  /** True when callers must authenticate for anything (false: open, or rate limits only). */
  protects: boolean;
}

/** Builds the access control a config asks for. @throws on unreadable files or contradictory settings */
export async function serverAuth(config: ServeConfig, dataDir: string, logger: Logger): Promise<ServerAuth> {
  const external = config.tokenIssuer !== undefined || config.tokenJwks !== undefined;
  if (external && !(config.tokenIssuer && config.tokenJwks)) throw new Error('--token-issuer and --token-jwks go together');
  const mode = config.auth ?? (config.htpasswd || config.access || external || config.tokenKey ? 'token' : 'none');
  if (mode === 'none' && (config.htpasswd || config.access || external || config.tokenKey)) {
    throw new Error('auth is "none" but htpasswd, access, token-key or token-issuer is set; remove them or choose basic or token');
  }
  if (mode === 'basic' && (external || config.tokenKey)) throw new Error('auth "basic" takes no token settings; use auth "token"');
  if (mode === 'none' && config.rateLimit === undefined && config.mirrorRateLimit === undefined) return { protects: false, summary: 'none' };
  const { htpasswdUsers } = await import('../auth/htpasswd-users.ts');
  const users = config.htpasswd ? htpasswdUsers({ file: config.htpasswd }) : undefined;
  const rules = config.access ? (await import('../auth/access-rules.ts')).accessRules({ file: config.access }) : undefined;
  let authorize: Authorize | undefined;
  let tokenEndpoint: ServerAuth['tokenEndpoint'];
  const sources: (string | false | undefined)[] = [users && `htpasswd ${config.htpasswd} (${users.size} users)`, rules && `access ${config.access}`];
  if (mode === 'basic') {
    const { htpasswdAuth } = await import('../auth/htpasswd-auth.ts');
    authorize = htpasswdAuth({ users: users ?? htpasswdUsers({ text: '' }), rules, logger, realm: config.tokenService });
  } else if (mode === 'token') {
    const [{ jwksKeys }, { loadSigningKey }, { tokenAuth }] = await Promise.all([
      import('../auth/jwks.ts'),
      import('../auth/signing-key.ts'),
      import('../auth/token-auth.ts'),
    ]);
    const trusted: TrustedIssuer[] = external
      ? [{ issuer: config.tokenIssuer!, keys: await jwksKeys(config.tokenJwks!), userClaim: config.tokenUserClaim, groupsClaim: config.tokenGroupsClaim }]
      : [];
    // Marina issues tokens itself unless it only trusts an external issuer and has no users of its own.
    const issues = !external || users !== undefined || config.tokenKey !== undefined;
    const signingKey = issues ? await loadSigningKey({ file: config.tokenKey, dataDir }) : undefined;
    if (external && !rules) {
      logger.warn('--token-issuer without --access: the issuer\'s identity tokens (no access claim) grant nothing; give rules naming their users, groups or subjects', { issuer: config.tokenIssuer });
    }
    if (!signingKey && !config.tokenRealm) {
      logger.warn('no token endpoint here (no users or key of its own) and no --token-realm: challenges point to /token, which will not exist; set --token-realm to the issuer\'s token URL');
    }
    const auth = tokenAuth({ service: config.tokenService, realm: config.tokenRealm, ttlSeconds: config.tokenTtl, signingKey, users, rules, trusted, logger });
    authorize = auth.authorize;
    tokenEndpoint = auth.tokenEndpoint;
    sources.push(signingKey && `token service (${signingKey.alg}, kid ${signingKey.kid})`, external && `issuer ${config.tokenIssuer}`);
  }
  const protects = authorize !== undefined;
  if (config.rateLimit !== undefined || config.mirrorRateLimit !== undefined) {
    const { rateLimiter } = await import('../auth/rate-limit.ts');
    const limiter = rateLimiter({
      requests: config.rateLimit !== undefined ? { perSecond: config.rateLimit, burst: config.rateBurst ?? Math.max(1, Math.ceil(config.rateLimit * 2)) } : undefined,
      mirror: config.mirrorRateLimit !== undefined ? { perSecond: config.mirrorRateLimit, burst: config.mirrorRateBurst ?? Math.max(1, Math.ceil(config.mirrorRateLimit * 2)) } : undefined,
    });
    authorize = limiter.authorize(authorize);
    // Token requests spend the same budget (by address), so /token is no way around the limit for password guessing.
    if (tokenEndpoint) tokenEndpoint = limiter.endpoint(tokenEndpoint);
    sources.push(`rate limit ${config.rateLimit ?? '-'}/s, mirror ${config.mirrorRateLimit ?? '-'}/s`);
  }
  return { authorize, tokenEndpoint, protects, summary: [mode, ...sources.filter(Boolean)].join(', ') };
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
