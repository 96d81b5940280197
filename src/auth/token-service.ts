/**
 * Marina's token endpoint (the Docker/OCI token flow): `GET /token?service=…&scope=…` with Basic credentials or
 * none, and the OAuth2 form `POST /token` (grant_type=password) that containerd tries first. Each requested
 * scope is cut down to what the caller may do; nothing is refused for asking too much.
 */
import { SignJWT } from 'jose';
import { RegistryError } from '../errors.ts';
import type { Identity } from '../http/auth.ts';
import { errorResponse } from '../http/responses.ts';
import type { Logger } from '../logger.ts';
import type { AccessRules } from './access-rules.ts';
import { presentedCredentials, type BasicCredentials } from './basic-credentials.ts';
import { clientAddress } from './client-address.ts';
import type { HtpasswdUsers } from './htpasswd-users.ts';
import { ANONYMOUS, logFailure, loginWithPassword, mayDo } from './login.ts';
import type { SigningKey } from './signing-key.ts';
import { accessClaim, parseScopes, type Scope } from './token-scope.ts';

/** Options of {@link tokenEndpoint}. */
export interface TokenServiceOptions {
  /** The `service` (and token audience) clients name. */
  service: string;
  /** The `iss` of issued tokens. */
  issuer: string;
  key: SigningKey;
  /** Token lifetime. @default 300 s */
  ttlSeconds?: number;
  users?: HtpasswdUsers;
  rules?: AccessRules;
  /** Accepts an identity token (e.g. a CI job token) as the password; resolves to who it names. */
  identityFromToken?(token: string): Promise<Identity | undefined>;
  logger?: Logger;
}

const MAX_FORM_BYTES = 64 * 1024;

/** Builds the `/token` handler. */
export function tokenEndpoint(options: TokenServiceOptions): (request: Request) => Promise<Response> {
  const ttl = options.ttlSeconds ?? 300;
  return async (request) => {
    try {
      const { credentials, scopes, service } = await readTokenRequest(request);
      if (service !== null && service !== options.service) {
        throw new RegistryError('UNSUPPORTED', `this token service is "${options.service}"`, { status: 400, detail: { parameter: 'service' } });
      }
      const identity = credentials ? await login(credentials, request) : ANONYMOUS;
      if (!identity) {
        throw new RegistryError('UNAUTHORIZED', 'invalid user name or password', { headers: { 'WWW-Authenticate': `Basic realm="${options.service.replace(/["\\]/g, '')}"` } });
      }
      const granted: Scope[] = scopes.map((s) => ({ ...s, actions: s.actions.filter((a) => mayDo(options.rules, identity, s.type === 'registry' ? null : s.name, a)) }));
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ access: accessClaim(granted) })
        .setProtectedHeader({ alg: options.key.alg, kid: options.key.kid, typ: 'JWT' })
        .setIssuer(options.issuer)
        .setSubject(identity.via === 'anonymous' ? '' : identity.subject)
        .setAudience(options.service)
        .setIssuedAt(now)
        .setNotBefore(now - 1)
        .setExpirationTime(now + ttl)
        .setJti(crypto.randomUUID())
        .sign(options.key.privateKey);
      options.logger?.debug('token issued', {
        subject: identity.subject,
        address: clientAddress(request),
        access: granted.filter((g) => g.actions.length).map((g) => `${g.name}:${g.actions.join(',')}`).join(' ').slice(0, 500),
      });
      const body = { token, access_token: token, expires_in: ttl, issued_at: new Date(now * 1000).toISOString() };
      return Response.json(body, { headers: { 'Cache-Control': 'no-store' } });
    } catch (error) {
      if (!(error instanceof RegistryError)) options.logger?.error('token request failed', { error });
      return errorResponse(error, request.method);
    }
  };

  async function login(credentials: BasicCredentials, request: Request): Promise<Identity | undefined> {
    // A JWT as the password is an identity token (docker login -p "$CI_JOB_JWT"); otherwise an htpasswd user.
    if (options.identityFromToken && credentials.password.split('.').length === 3 && credentials.password.length > 40) {
      const identity = await options.identityFromToken(credentials.password);
      if (identity) return identity;
      logFailure(options.logger, request, 'identity token rejected', credentials.user);
      return undefined;
    }
    return loginWithPassword(options.users, credentials, request, options.logger);
  }
}

/** The credentials, scopes and service of a GET (query + Basic) or POST (form) token request. */
async function readTokenRequest(request: Request): Promise<{ credentials?: BasicCredentials; scopes: Scope[]; service: string | null }> {
  const url = new URL(request.url);
  if (request.method === 'GET' || request.method === 'HEAD') {
    const presented = presentedCredentials(request);
    if (presented.kind === 'invalid' || presented.kind === 'bearer') throw new RegistryError('UNAUTHORIZED', 'the token service takes Basic credentials');
    return {
      credentials: presented.kind === 'basic' ? presented.credentials : undefined,
      scopes: parseScopes(url.searchParams.getAll('scope')),
      service: url.searchParams.get('service'),
    };
  }
  if (request.method !== 'POST') throw new RegistryError('UNSUPPORTED', `method ${request.method} is not allowed here`, { headers: { Allow: 'GET, HEAD, POST' } });
  const form = new URLSearchParams(await readSmall(request));
  const grant = form.get('grant_type');
  if (grant !== 'password') throw new RegistryError('UNSUPPORTED', 'only grant_type=password is supported', { status: 400 });
  const user = form.get('username') ?? '';
  const password = form.get('password') ?? '';
  // A Basic header may carry the credentials instead of the form.
  const header = presentedCredentials(request);
  const credentials = user ? { user, password } : header.kind === 'basic' ? header.credentials : undefined;
  return { credentials, scopes: parseScopes(form.getAll('scope')), service: form.get('service') };
}

async function readSmall(request: Request): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body ?? []) {
    total += chunk.byteLength;
    if (total > MAX_FORM_BYTES) throw new RegistryError('UNSUPPORTED', `token request body larger than ${MAX_FORM_BYTES} bytes`, { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

