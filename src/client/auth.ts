/**
 * Registry authentication for the client: Basic, and the Bearer token handshake (distribution "token auth"):
 * on 401, read the challenge, fetch a token from the realm for the scope, retry. Tokens are cached until expiry.
 */
import { parseChallenges } from './www-authenticate.ts';

/** Username and password (or identity token as password). */
export interface Credentials {
  username: string;
  password: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Answers 401 challenges and remembers tokens per scope. */
export class Authenticator {
  private readonly tokens = new Map<string, CachedToken>();
  /** Set once the registry challenged with Basic: then credentials go with every request, saving a round trip. */
  private basicWanted = false;

  constructor(
    private readonly credentials: Credentials | undefined,
    private readonly fetcher: typeof fetch,
    /** Realm hosts credentials may be sent to; undefined means the registry's own host only. */
    private readonly trustedRealmHosts?: string[],
  ) {}

  /** The Authorization header to send for a scope, if a token is cached. */
  cached(scope: string): string | undefined {
    const t = this.tokens.get(scope);
    if (t && t.expiresAt > Date.now()) return `Bearer ${t.token}`;
    return this.basicWanted ? this.basic() : undefined;
  }

  /** Basic credentials, for registries that challenge with Basic. */
  basic(): string | undefined {
    if (!this.credentials) return undefined;
    return `Basic ${btoa(`${this.credentials.username}:${this.credentials.password}`)}`;
  }

  /**
   * Turns a 401's challenge into an Authorization header for the retry, or undefined when it cannot be answered.
   * @param registryHost host of the registry, to decide whether credentials may go to the realm
   */
  async answer(wwwAuthenticate: string, scope: string, registryHost: string): Promise<string | undefined> {
    for (const challenge of parseChallenges(wwwAuthenticate)) {
      if (challenge.scheme === 'basic') {
        this.basicWanted = this.credentials !== undefined;
        return this.basic();
      }
      if (challenge.scheme !== 'bearer' || !challenge.params.realm) continue;
      const realm = new URL(challenge.params.realm);
      const url = new URL(realm);
      if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
      const wanted = challenge.params.scope ?? scope;
      if (wanted) for (const s of wanted.split(' ')) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      const trusted = this.trustedRealmHosts ?? [registryHost];
      if (this.credentials && trusted.includes(realm.host)) headers.Authorization = this.basic()!;
      const res = await this.fetcher(url, { headers });
      if (!res.ok) return undefined;
      const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number };
      const token = body.token ?? body.access_token;
      if (!token) return undefined;
      // Refresh a little early; 60 s is the spec's default lifetime when expires_in is absent.
      const lifetime = Math.max((body.expires_in ?? 60) - 10, 5);
      this.tokens.set(scope, { token, expiresAt: Date.now() + lifetime * 1000 });
      return `Bearer ${token}`;
    }
    return undefined;
  }
}
