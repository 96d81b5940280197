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
import { CircuitOpen } from './upstream-errors.ts';
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

/** An upstream registry with fail-fast timeouts and rate-limit awareness. */
export class Upstream {
  readonly client: RegistryClient;
  readonly stats: UpstreamStats = { requests: 0, blobRequests: 0, bytesFetched: 0, failures: 0, circuit: 'closed' };
  readonly breaker: CircuitBreaker;
  private remaining: number | undefined;
  private remainingSeenAt = 0;
  private throttledUntil = 0;

  private readonly network: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

  constructor(
    readonly options: UpstreamOptions,
    limits: UpstreamLimits,
    private readonly reserve: number,
    breaker: BreakerOptions = {},
    logger?: Logger,
  ) {
    const host = new URL(options.url).host;
    const trusted = options.trustedRealmHosts ?? (options.name === DOCKER_HUB.name ? [host, DOCKER_HUB.authHost] : [host]);
    this.breaker = new CircuitBreaker(breaker, (state, detail) => {
      this.stats.circuit = state;
      const message = state === 'open' ? 'upstream circuit open: not asking it until the cool-down passes' : state === 'half-open' ? 'upstream circuit half-open: probing' : 'upstream circuit closed: upstream healthy again';
      logger?.[state === 'open' ? 'warn' : 'info'](message, { upstream: options.name, ...detail });
    });
    this.network = guardedFetch({ ...limits, name: options.name, base: options.url, realmHosts: trusted, onBodyFailure: () => this.breaker.failure() });
    this.client = new RegistryClient({
      registry: options.url,
      credentials: options.credentials,
      trustedRealmHosts: trusted,
      fetch: this.fetch.bind(this) as typeof fetch,
      userAgent: 'marina-mirror',
      maxListingPages: 100,
    });
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

  private async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    if (this.throttled) {
      const seconds = Math.ceil((this.throttledUntil - Date.now()) / 1000);
      throw new RegistryError('TOOMANYREQUESTS', `upstream ${this.options.name} asked to back off for ${seconds} s more`, { headers: { 'Retry-After': String(seconds) } });
    }
    if (!this.breaker.admit()) throw new CircuitOpen(this.options.name, this.breaker.retryInMs);
    this.stats.requests++;
    const url = String(input instanceof Request ? input.url : input);
    if (/\/blobs\/[^/]+$/.test(new URL(url).pathname) && init?.method !== 'HEAD') this.stats.blobRequests++;
    try {
      const res = await this.network(input, init);
      if (res.status >= 500) this.breaker.failure();
      else this.breaker.success();
      this.observe(res);
      return res;
    } catch (error) {
      this.stats.failures++;
      // A refused answer (a realm or redirect we may not follow, an oversized body) is hostile, not sick: the
      // upstream did answer. No answer at all (timeout, reset, refused connection) is what opens the circuit.
      if (error instanceof RegistryError) {
        this.breaker.success();
        throw error;
      }
      this.breaker.failure();
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

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3); 60 s when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number {
  const text = (value ?? '').trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.max(0, date - now) : 60_000;
}
