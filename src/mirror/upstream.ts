/**
 * One upstream as the mirror sees it: the library's client (auth, referrers fallback) over a guarded fetch that
 * fails fast when the upstream does not answer, stops dialling a sick upstream (circuit breaker), counts requests,
 * and tracks rate limits (Docker Hub's ratelimit-remaining, 429 + Retry-After).
 */
import { RegistryClient } from '../client/client.ts';
import { RegistryError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.ts';
import { DOCKER_HUB, type UpstreamOptions } from './options.ts';
import { CircuitOpen, isUpstreamFailure } from './upstream-errors.ts';
import { guardedFetch, type FetchPolicy } from './upstream-fetch.ts';

/** The limits an upstream's traffic is held to (see {@link FetchPolicy}). */
export type UpstreamLimits = Omit<FetchPolicy, 'name' | 'base' | 'realmHosts'>;

/** How long a reported low pull budget stops revalidation before it is asked again. */
const RATE_LIMIT_MEMORY_MS = 60_000;

/** Counters of one upstream. */
export interface UpstreamStats {
  requests: number;
  blobRequests: number;
  bytesFetched: number;
  failures: number;
  /** The circuit breaker's state. */
  circuit: BreakerState;
}

/** One URL of an upstream: its own client, guarded fetch and circuit breaker. */
export interface Endpoint {
  url: string;
  client: RegistryClient;
  breaker: CircuitBreaker;
}

/**
 * An upstream registry with fail-fast timeouts, rate-limit awareness and fail-over: its URLs (`url`, then
 * `fallbackUrls`) are tried in order of health, each behind its own circuit breaker.
 */
export class Upstream {
  readonly stats: UpstreamStats = { requests: 0, blobRequests: 0, bytesFetched: 0, failures: 0, circuit: 'closed' };
  readonly endpoints: Endpoint[];
  private remaining: number | undefined;
  private remainingSeenAt = 0;
  private throttledUntil = 0;

  constructor(
    readonly options: UpstreamOptions,
    limits: UpstreamLimits,
    private readonly reserve: number,
    breaker: BreakerOptions = {},
    private readonly logger?: Logger,
  ) {
    this.endpoints = [options.url, ...(options.fallbackUrls ?? [])].map((url, i) => this.endpoint(url, i === 0, limits, breaker));
  }

  /**
   * Runs `op` against the healthiest URL, failing over to the next when one is down (timeouts, resets, 5xx, an open
   * circuit). `byDigest`: the content is addressed by digest, so any URL serves it as well as another, and a URL
   * that lacks it (404, undefined) does not stop the search; tags come from the first healthy URL that answers.
   */
  async call<T>(op: (client: RegistryClient) => Promise<T>, options: { byDigest?: boolean } = {}): Promise<T> {
    // Open circuits last; a half-open one keeps its place, so its one probe can tell that it recovered.
    const ordered = [...this.endpoints.filter((e) => e.breaker.state !== 'open'), ...this.endpoints.filter((e) => e.breaker.state === 'open')];
    let failure: unknown;
    let absent: { error?: unknown } | undefined;
    for (const endpoint of ordered) {
      try {
        const result = await op(endpoint.client);
        if (result !== undefined || !options.byDigest) return result;
        absent ??= {};
      } catch (error) {
        if (options.byDigest && error instanceof RegistryError && error.status === 404) absent ??= { error };
        else if (isUpstreamFailure(error)) failure ??= error;
        else throw error;
      }
    }
    // A URL that was down may have the content: its failure says more than another URL's "not here".
    if (failure !== undefined) throw failure;
    if (absent?.error !== undefined) throw absent.error;
    return undefined as T;
  }

  /**
   * True while the upstream asked us to back off or its pull budget is nearly spent. A low budget is believed for a
   * minute after it was last reported; then one revalidation may learn the new one (budgets refill over time).
   */
  get conserving(): boolean {
    if (Date.now() < this.throttledUntil) return true;
    return this.remaining !== undefined && this.remaining < this.reserve && Date.now() - this.remainingSeenAt < RATE_LIMIT_MEMORY_MS;
  }

  /** True while a 429 asked us to wait. */
  get throttled(): boolean {
    return Date.now() < this.throttledUntil;
  }

  private endpoint(url: string, primary: boolean, limits: UpstreamLimits, options: BreakerOptions): Endpoint {
    const name = this.options.name;
    const host = new URL(url).host;
    const trusted = this.options.trustedRealmHosts ?? (name === DOCKER_HUB.name ? [host, DOCKER_HUB.authHost] : [host]);
    const breaker = new CircuitBreaker(options, (state, detail) => {
      if (primary) this.stats.circuit = state;
      const message = state === 'open' ? 'upstream circuit open: not asking it until the cool-down passes' : state === 'half-open' ? 'upstream circuit half-open: probing' : 'upstream circuit closed: upstream healthy again';
      this.logger?.[state === 'open' ? 'warn' : 'info'](message, { upstream: name, url, ...detail });
    });
    // Realms on another host are allowed for the first URL only when configured; a fail-over URL (another registry)
    // brings its own host.
    const network = guardedFetch({ ...limits, name, base: url, realmHosts: primary ? trusted : [host, ...(this.options.trustedRealmHosts ?? [])], onBodyFailure: () => breaker.failure() });
    const client = new RegistryClient({
      registry: url,
      credentials: primary ? this.options.credentials : undefined,
      trustedRealmHosts: trusted,
      fetch: ((input: string | URL | Request, init?: RequestInit) => this.send(network, breaker, input, init)) as typeof fetch,
      userAgent: 'marina-mirror',
      maxListingPages: 100,
    });
    return { url, client, breaker };
  }

  private async send(network: typeof fetch | ((input: string | URL | Request, init?: RequestInit) => Promise<Response>), breaker: CircuitBreaker, input: string | URL | Request, init?: RequestInit): Promise<Response> {
    if (this.throttled) {
      const seconds = Math.ceil((this.throttledUntil - Date.now()) / 1000);
      throw new RegistryError('TOOMANYREQUESTS', `upstream ${this.options.name} asked to back off for ${seconds} s more`, { headers: { 'Retry-After': String(seconds) } });
    }
    if (!breaker.admit()) throw new CircuitOpen(this.options.name, breaker.retryInMs);
    this.stats.requests++;
    const url = String(input instanceof Request ? input.url : input);
    if (/\/blobs\/[^/]+$/.test(new URL(url).pathname) && init?.method !== 'HEAD') this.stats.blobRequests++;
    try {
      const res = await network(input, init);
      if (res.status >= 500) breaker.failure();
      else breaker.success();
      this.observe(res);
      return res;
    } catch (error) {
      this.stats.failures++;
      // A refused answer (a realm or redirect we may not follow, an oversized body) is hostile, not sick: the
      // upstream did answer. No answer at all (timeout, reset, refused connection) is what opens the circuit.
      if (error instanceof RegistryError) {
        breaker.success();
        throw error;
      }
      breaker.failure();
      throw new RegistryError('UNKNOWN', `upstream ${this.options.name} unreachable: ${error instanceof Error ? error.message : String(error)}`, { status: 503, cause: error });
    }
  }

  private observe(res: Response): void {
    const remaining = res.headers.get('ratelimit-remaining');
    if (remaining !== null) {
      const n = Number.parseInt(remaining, 10);
      if (Number.isFinite(n)) {
        this.remaining = n;
        this.remainingSeenAt = Date.now();
      }
    }
    if (res.status === 429) this.throttledUntil = Date.now() + retryAfterMs(res.headers.get('retry-after'));
  }
}

/** The longest back-off an upstream's Retry-After can impose: a hostile or broken one must not silence it for years. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3); 60 s when absent or unreadable; at most 1 h. */
export function retryAfterMs(value: string | null, now = Date.now()): number {
  const text = (value ?? '').trim().slice(0, 64);
  if (/^\d{1,12}$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS) : 60_000;
}
