/**
 * Checking bearer tokens: Marina's own and those of trusted external issuers (Distribution-, Harbor-, GitLab-style
 * token servers, or OIDC identity tokens such as CI job tokens). Signature with the issuer's keys, `iss`, `aud`,
 * `exp`/`nbf` with a small leeway, and an algorithm allow-list (never `none`, never a shared-secret HMAC).
 */
import { decodeJwt, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Identity } from '../http/auth.ts';
import { grantsOf, type Grants } from './token-scope.ts';

/** Algorithms accepted from any issuer. */
export const ALLOWED_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'RS384', 'RS512', 'PS256', 'EdDSA'];
/** Longest token looked at. */
export const MAX_TOKEN_LENGTH = 8192;

/** An issuer whose tokens are accepted. */
export interface TrustedIssuer {
  /** The exact `iss` claim. */
  issuer: string;
  /** Its public keys (e.g. from {@link jwksKeys} or jose's `createLocalJWKSet`). */
  keys: JWTVerifyGetKey;
  /** For identity tokens (no `access` claim): the claim holding the user name. @default "sub" */
  userClaim?: string;
  /** For identity tokens: a claim holding a list of group names. */
  groupsClaim?: string;
}

/** A checked token: who it names, and what it grants when it carries an `access` claim. */
export interface VerifiedToken {
  identity: Identity;
  /** Absent for identity tokens: what they may do is up to the access rules. */
  grants?: Grants;
  /** The `iss` it was checked against. */
  issuer: string;
  expiresAt?: number;
}

/** Builds a checker for tokens whose audience is `audience`. */
export function tokenVerifier(options: { audience: string; issuers: TrustedIssuer[]; leewaySeconds?: number }) {
  const byIssuer = new Map(options.issuers.map((i) => [i.issuer, i]));
  const clockTolerance = options.leewaySeconds ?? 30;
  /** Checks a token; resolves to the reason when it is not acceptable. */
  return async function verifyToken(token: string): Promise<VerifiedToken | { error: string }> {
    if (token.length > MAX_TOKEN_LENGTH) return { error: 'token too long' };
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      return { error: 'malformed token' };
    }
    const trusted = typeof unverified.iss === 'string' ? byIssuer.get(unverified.iss) : undefined;
    if (!trusted) return { error: 'untrusted issuer' };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, trusted.keys, {
        issuer: trusted.issuer,
        audience: options.audience,
        algorithms: ALLOWED_ALGORITHMS,
        clockTolerance,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      return { error: describe(error) };
    }
    const expiresAt = payload.exp;
    if ('access' in payload) {
      // Tokens issued to anonymous callers have an empty subject; they still grant what their access claim says.
      const identity: Identity = typeof payload.sub === 'string' && payload.sub ? { subject: payload.sub, via: 'token' } : { subject: 'anonymous', via: 'anonymous' };
      return { identity, grants: grantsOf(payload.access), issuer: trusted.issuer, expiresAt };
    }
    const user = payload[trusted.userClaim ?? 'sub'];
    if (typeof user !== 'string' || user === '' || user.length > 512) return { error: `identity token without a ${trusted.userClaim ?? 'sub'} claim` };
    const groupsValue = trusted.groupsClaim ? payload[trusted.groupsClaim] : undefined;
    const groups = Array.isArray(groupsValue) ? groupsValue.filter((g): g is string => typeof g === 'string').slice(0, 100) : undefined;
    return { identity: { subject: user, groups, via: 'oidc' }, issuer: trusted.issuer, expiresAt };
  };
}

function describe(error: unknown): string {
  const code = (error as { code?: string }).code ?? '';
  const known: Record<string, string> = {
    ERR_JWT_EXPIRED: 'token expired',
    ERR_JWT_CLAIM_VALIDATION_FAILED: 'token claim check failed',
    ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'bad token signature',
    ERR_JOSE_ALG_NOT_ALLOWED: 'token algorithm not allowed',
    ERR_JWKS_NO_MATCHING_KEY: 'token signed by an unknown key',
    ERR_JWS_INVALID: 'malformed token',
  };
  return known[code] ?? `token rejected (${code || 'invalid'})`;
}
