/**
 * One upstream as the mirror sees it: the library's client (auth, referrers fallback) over a fetch that fails fast
 * when the upstream does not answer, counts requests, and tracks rate limits (Docker Hub's ratelimit-remaining,
 * 429 + Retry-After).
 */
import { RegistryClient } from '../client/client.ts';
import { RegistryError } from '../errors.ts';
import { DOCKER_HUB, type UpstreamOptions } from './options.ts';

/** Counters of one upstream. */
export interface UpstreamStats {
  requests: number;
  blobRequests: number;
  bytesFetched: number;
  failures: number;
}

/** An upstream registry with fail-fast timeouts and rate-limit awareness. */
export class Upstream {
  readonly client: RegistryClient;
  readonly stats: UpstreamStats = { requests: 0, blobRequests: 0, bytesFetched: 0, failures: 0 };
  private remaining: number | undefined;
  private throttledUntil = 0;

  constructor(
    readonly options: UpstreamOptions,
    private readonly timeoutMs: number,
    private readonly reserve: number,
  ) {
    const host = new URL(options.url).host;
    const trusted = options.trustedRealmHosts ?? (options.name === DOCKER_HUB.name ? [host, DOCKER_HUB.authHost] : [host]);
    this.client = new RegistryClient({
      registry: options.url,
      credentials: options.credentials,
      trustedRealmHosts: trusted,
      fetch: this.fetch.bind(this) as typeof fetch,
      userAgent: 'marina-mirror',
    });
  }

  /** True while the upstream asked us to back off or its pull budget is nearly spent. */
  get conserving(): boolean {
    return Date.now() < this.throttledUntil || (this.remaining !== undefined && this.remaining < this.reserve);
  }

  /** True while a 429 asked us to wait. */
  get throttled(): boolean {
    return Date.now() < this.throttledUntil;
  }

  private async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    if (this.throttled) throw new RegistryError('TOOMANYREQUESTS', `upstream ${this.options.name} asked to back off`);
    this.stats.requests++;
    const url = String(input instanceof Request ? input.url : input);
    if (/\/blobs\/[^/]+$/.test(new URL(url).pathname) && init?.method !== 'HEAD') this.stats.blobRequests++;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`upstream ${this.options.name} did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    try {
      const res = await fetch(input, { ...init, signal: controller.signal });
      this.observe(res);
      return res;
    } catch (error) {
      this.stats.failures++;
      throw new RegistryError('UNKNOWN', `upstream ${this.options.name} unreachable: ${error instanceof Error ? error.message : String(error)}`, { status: 502, cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  private observe(res: Response): void {
    const remaining = res.headers.get('ratelimit-remaining');
    if (remaining !== null) {
      const n = Number.parseInt(remaining, 10);
      if (Number.isFinite(n)) this.remaining = n;
    }
    if (res.status === 429) {
      const retryAfter = Number.parseInt(res.headers.get('retry-after') ?? '', 10);
      this.throttledUntil = Date.now() + (Number.isFinite(retryAfter) ? retryAfter : 60) * 1000;
    }
  }
}
