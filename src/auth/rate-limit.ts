/**
 * Rate limits per caller: a token bucket per user (or per client address for anonymous callers), and a separate,
 * usually smaller, budget for requests that reach a mirrored repository, so one client cannot make the mirror pull
 * the world. Over the limit a request gets 429 TOOMANYREQUESTS with `Retry-After`.
 */
import { RegistryError } from '../errors.ts';
import type { Authorize, AuthResult } from '../http/auth.ts';
import { errorResponse } from '../http/responses.ts';
import { presentedCredentials } from './basic-credentials.ts';
import { clientAddress } from './client-address.ts';

/** A budget: `perSecond` refill, up to `burst` requests at once. */
export interface Budget {
  perSecond: number;
  burst: number;
}

/** Options of {@link rateLimited}. */
export interface RateLimitOptions {
  /** Every request. */
  requests?: Budget;
  /** Requests to mirrored repositories (on top of `requests`). */
  mirror?: Budget;
  /** Most callers tracked; the least recently seen is forgotten first. @default 10 000 */
  maxCallers?: number;
}

/** Token buckets keyed by caller, bounded in number. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly budget: Budget,
    private readonly maxKeys = 10_000,
  ) {}

  /** Takes one token for `key`: 0 when granted, otherwise the seconds until one is available. */
  take(key: string, now = performance.now()): number {
    const { perSecond, burst } = this.budget;
    let bucket = this.buckets.get(key);
    if (bucket) this.buckets.delete(key);
    else {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: burst, at: now };
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
  }

  /** Like {@link take}, without taking: 0 when `key` has a token now, otherwise the seconds until it will. */
  peek(key: string, now = performance.now()): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return 0;
    const { perSecond, burst } = this.budget;
    const tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / perSecond));
  }
}

/**
 * The budget a client address spends: an IPv6 address's /64 (what one subscriber or host is usually given, so all
 * of it is one caller), any other address (IPv4, IPv4-mapped IPv6) whole.
 */
export function addressKey(address: string): string {
  const zone = address.indexOf('%');
  const ip = zone < 0 ? address : address.slice(0, zone);
  if (!ip.includes(':') || ip.includes('.') || ip.length > 45) return `address:${address}`;
  const [head = '', tail = ''] = ip.split('::', 2);
  const front = head ? head.split(':') : [];
  const back = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back] : front;
  const prefix = groups.slice(0, 4).map((g) => Number.parseInt(g, 16));
  if (groups.length !== 8 || prefix.some((g) => !(g >= 0 && g <= 0xffff))) return `address:${address}`;
  return `address:${prefix.map((g) => g.toString(16)).join(':')}::/64`;
}

/** Wraps a provider (or none: everyone allowed) with rate limits; a request is counted once however often it is asked. */
export function rateLimited(inner: Authorize | undefined, options: RateLimitOptions): Authorize {
  return rateLimiter(options).authorize(inner);
}

/** One set of budgets shared by the `authorize` hook and other endpoints (such as `/token`). */
export interface RateLimiter {
  /** Wraps a provider (or none: everyone allowed). */
  authorize(inner: Authorize | undefined): Authorize;
  /** Wraps a plain handler; its requests count against the caller's address. */
  endpoint(handler: (request: Request) => Promise<Response>): (request: Request) => Promise<Response>;
}

/** Builds the budgets. */
export function rateLimiter(options: RateLimitOptions): RateLimiter {
  const requests = options.requests ? new TokenBuckets(options.requests, options.maxCallers) : undefined;
  const mirror = options.mirror ? new TokenBuckets(options.mirror, options.maxCallers) : undefined;
  // Failed logins per address, at the request budget's rate.
  const failures = options.requests ? new TokenBuckets(options.requests, options.maxCallers) : undefined;
  const counted = new WeakSet<Request>();
  const limited = (what: string, wait: number) => new RegistryError('TOOMANYREQUESTS', `too many ${what}; retry in ${wait} s`, { headers: { 'Retry-After': String(wait) } });
  const take = (request: Request, who: string, mirrored: boolean | undefined) => {
    if (counted.has(request)) return;
    counted.add(request);
    for (const [buckets, what] of [[requests, 'requests'], [mirrored ? mirror : undefined, 'mirror requests']] as const) {
      const wait = buckets?.take(who) ?? 0;
      if (wait > 0) throw limited(what, wait);
    }
  };
  return {
    authorize: (inner) => async (ask) => {
      // Failed logins also spend a budget of their address's own, and while it is empty no password from there is
      // checked: otherwise a guess would be answered 429 and the right password 200 (it spends its user's budget).
      // Anonymous requests do not touch it, so they cannot lock out the users behind a shared address.
      const password = failures !== undefined && inner !== undefined && !counted.has(ask.request) && presentedCredentials(ask.request).kind === 'basic';
      const address = addressKey(clientAddress(ask.request));
      if (password) {
        const wait = failures.peek(address);
        if (wait > 0) {
          counted.add(ask.request);
          throw limited('failed logins from this address', wait);
        }
      }
      const result: AuthResult = inner ? await inner(ask) : { allow: true };
      if (password && !result.allow && !result.identity) failures.take(address);
      const who = result.identity && result.identity.via !== 'anonymous' ? `user:${result.identity.subject}` : address;
      take(ask.request, who, ask.mirrored);
      return result;
    },
    endpoint: (handler) => async (request) => {
      const address = addressKey(clientAddress(request));
      try {
        // A token request may carry a password too: the same failed-login budget guards it.
        const wait = failures?.peek(address) ?? 0;
        if (wait > 0) throw limited('failed logins from this address', wait);
        take(request, address, false);
      } catch (error) {
        return errorResponse(error, request.method);
      }
      const response = await handler(request);
      if (response.status === 401) failures?.take(address);
      return response;
    },
  };
}
