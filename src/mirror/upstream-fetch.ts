/**
 * The only way the mirror talks to an upstream: a fetch that treats the upstream as a hostile party. Registry API
 * calls go only to the upstream's own origin, token realms only to http(s) hosts the operator allowed, redirects
 * are followed by hand (Authorization never crosses to another origin), loopback and link-local addresses are
 * refused unless the upstream itself lives there, and every body is capped, timed and rate-checked.
 */
import { boundBody, UpstreamRefusal, type BodyLimits } from './bounded-body.ts';

/** Limits and allowed places for one upstream. */
export interface FetchPolicy {
  /** The upstream's name, for messages. */
  name: string;
  /** The upstream's base URL. */
  base: string;
  /** `host[:port]`s token realms may be on (the upstream's own host is always allowed). */
  realmHosts: string[];
  /** Time to get response headers. */
  headersTimeoutMs: number;
  /** Whole-body deadline of small bodies (manifests, tokens, listings, error bodies). */
  bodyTimeoutMs: number;
  maxManifestBytes: number;
  /** Cap of one tags or referrers page. */
  maxListingBytes: number;
  /** Blob bodies slower than this over any 10 s window are cut off. */
  minBytesPerSecond: number;
  /** @default 10000 */
  rateWindowMs?: number;
  /** Told when a body is cut off (too slow, past its deadline, too large). */
  onBodyFailure?: (reason: unknown) => void;
}

const MAX_TOKEN_BYTES = 64 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;
const MAX_REDIRECTS = 5;

/** Where an address points, for the rule "no loopback or link-local unless the upstream is there". */
export type AddressClass = 'loopback' | 'link-local' | 'public';

/** Classifies a URL's host by its literal address (names other than localhost count as public). */
export function addressClass(url: URL): AddressClass {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  // An IPv4-mapped IPv6 address is its IPv4 address (URL writes ::ffff:127.0.0.1 as ::ffff:7f00:1).
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  const v4host = mapped ? `${parseInt(mapped[1]!, 16) >> 8}.${parseInt(mapped[1]!, 16) & 255}.0.0` : host.replace(/^::ffff:/, '');
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(v4host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    if (a === 127 || a === 0) return 'loopback';
    if (a === 169 && b === 254) return 'link-local';
    return 'public';
  }
  if (host === '::1' || host === '::') return 'loopback';
  if (/^fe[89ab][0-9a-f]:/.test(host)) return 'link-local';
  return 'public';
}

/** A request the policy does not allow; `target` (upstream-chosen) is for logs only. */
class RefusedRequest extends UpstreamRefusal {
  constructor(upstream: string, why: string, readonly target: string) {
    super(`upstream ${upstream}: ${why}`);
  }
}

type Kind = 'blob' | 'manifest' | 'listing' | 'token' | 'other';

/** A fetch for `policy`'s upstream over `inner` (the network). */
export function guardedFetch(policy: FetchPolicy, inner: typeof fetch = fetch): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  const base = new URL(policy.base);
  const baseClass = addressClass(base);
  const realmHosts = new Set([base.host, ...policy.realmHosts]);

  /** True when a request may reach `url` at all (scheme, address class). */
  const reachable = (url: URL) => (url.protocol === 'http:' || url.protocol === 'https:') && (addressClass(url) === 'public' || addressClass(url) === baseClass);

  function classify(url: URL, method: string): Kind {
    if (url.origin === base.origin && url.pathname.startsWith('/v2/')) {
      if (/\/blobs\/[^/]+$/.test(url.pathname)) return method === 'GET' ? 'blob' : 'other';
      if (/\/manifests\/[^/]+$/.test(url.pathname)) return 'manifest';
      return 'listing';
    }
    // Anything else is a token realm (some live under /v2/, like Quay's), on a host the operator allowed; registry
    // API calls (a Link to the next page included) never leave the upstream's origin (the client checks Link too).
    if (reachable(url) && realmHosts.has(url.host)) return 'token';
    throw new RefusedRequest(policy.name, 'a request to a host that is neither the upstream nor an allowed token realm was refused', url.href);
  }

  return async function fetchUpstream(input, init = {}) {
    let url = new URL(input instanceof Request ? input.url : String(input));
    let method = (init.method ?? 'GET').toUpperCase();
    const kind = classify(url, method);
    const headers = new Headers(init.headers);
    // Blob bytes are hashed and sized as sent: no transfer compression, whose Content-Length would not be theirs.
    if (kind === 'blob') headers.set('accept-encoding', 'identity');
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${policy.headersTimeoutMs} ms`)), policy.headersTimeoutMs);
    let res: Response;
    try {
      for (let hop = 0; ; hop++) {
        res = await inner(url, { ...init, method, headers, redirect: 'manual', signal: controller.signal });
        const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
        if (location === null) break;
        await res.body?.cancel().catch(() => undefined);
        if (hop >= MAX_REDIRECTS) throw new RefusedRequest(policy.name, `more than ${MAX_REDIRECTS} redirects`, url.href);
        if (init.body !== undefined && init.body !== null) throw new RefusedRequest(policy.name, 'a redirect of a request with a body', url.href);
        const next = new URL(location, url);
        if (!reachable(next)) throw new RefusedRequest(policy.name, 'a redirect to a refused address', next.href);
        // Blob storage redirects (S3, CDNs) are fine, but the upstream's credentials stay with the upstream.
        if (next.origin !== url.origin) headers.delete('authorization');
        if (res.status === 303 && method !== 'HEAD') method = 'GET';
        url = next;
      }
    } finally {
      clearTimeout(timer);
    }
    const limits = bodyLimits(kind, res, url);
    if (!res.body || method === 'HEAD') return res;
    const announced = contentLength(res);
    if (limits.maxBytes !== undefined && announced !== undefined && announced > limits.maxBytes) {
      controller.abort();
      throw new UpstreamRefusal(`${limits.what}: announced ${announced} bytes, more than ${limits.maxBytes}`);
    }
    const body = boundBody(res.body, limits, (reason) => {
      controller.abort(reason);
      policy.onBodyFailure?.(reason);
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };

  function bodyLimits(kind: Kind, res: Response, url: URL): BodyLimits {
    const small = { deadlineMs: policy.bodyTimeoutMs };
    const what = `upstream ${policy.name}`;
    if (!res.ok) return { ...small, maxBytes: MAX_ERROR_BYTES, what: `${what} error body` };
    switch (kind) {
      case 'manifest':
        return { ...small, maxBytes: policy.maxManifestBytes, what: `${what} manifest` };
      case 'listing':
        return { ...small, maxBytes: policy.maxListingBytes, what: `${what} listing` };
      case 'token':
        return { ...small, maxBytes: MAX_TOKEN_BYTES, what: `${what} token` };
      case 'blob': {
        // A blob is as long as announced, and not slower than the floor (the fill's digest check does the rest).
        const limits: BodyLimits = { minBytesPerSecond: policy.minBytesPerSecond, what: `${what} blob ${url.pathname.slice(-71)}` };
        if (policy.rateWindowMs !== undefined) limits.rateWindowMs = policy.rateWindowMs;
        const announced = contentLength(res);
        if (announced !== undefined) limits.maxBytes = announced;
        return limits;
      }
      default:
        return { ...small, maxBytes: MAX_ERROR_BYTES, what };
    }
  }
}

function contentLength(res: Response): number | undefined {
  const value = res.headers.get('content-length');
  return value !== null && /^\d{1,16}$/.test(value) ? Number(value) : undefined;
}
