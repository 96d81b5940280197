/**
 * What every {@link Locks} implementation shares: the typed errors, the default lease and wait, and `run`/`tryRun`
 * on top of `acquire`/`tryAcquire` (with the lease renewed while the function runs).
 */
import { RegistryError } from '../errors.ts';
import type { Lease, LockOptions, Locks } from './types.ts';

/**
 * Default lease: a killed holder keeps its key at most this long. Live holders renew it in `run`, so it bounds
 * nothing but the recovery from a crash.
 */
export const DEFAULT_LEASE_MS = 30_000;
/**
 * Default wait. A request queued behind another one on the same upload waits until that one ends; a stuck one
 * ends when its body goes idle (60 s by default) or its holder's lease runs out (30 s), so this is past both.
 */
export const DEFAULT_WAIT_MS = 70_000;

/** The wait for a held key passed its deadline (429: the client may retry; nothing was done). */
export class LockTimeoutError extends RegistryError {
  constructor(key: string, waitMs: number) {
    super('TOOMANYREQUESTS', `another request holds ${key}; gave up waiting after ${waitMs} ms, retry later`, {
      detail: { reason: 'lock wait timeout', key },
      headers: { 'Retry-After': '1' },
    });
  }
}

/** A lease ran out or was taken over before the holder finished (503: the work was stopped before its write). */
export class LockLostError extends RegistryError {
  constructor(key: string) {
    super('UNKNOWN', `the lock on ${key} was lost (its lease ran out); nothing more was written, retry`, {
      status: 503,
      detail: { reason: 'lock lost', key },
      headers: { 'Retry-After': '1' },
    });
  }
}

/** The lease and wait of `options`, with defaults and bounds (a lease shorter than 10 ms could not be renewed). */
export function lockTimes(options: LockOptions = {}): { leaseMs: number; waitMs: number } {
  return {
    leaseMs: Math.max(10, options.leaseMs ?? DEFAULT_LEASE_MS),
    waitMs: Math.max(0, options.waitMs ?? DEFAULT_WAIT_MS),
  };
}

/** `run` and `tryRun` for any `acquire`/`tryAcquire`: extend it, or copy its two methods into your own class. */
export abstract class LeaseLocks implements Locks {
  abstract acquire(key: string, options?: LockOptions): Promise<Lease>;
  abstract tryAcquire(key: string, options?: LockOptions): Promise<Lease | undefined>;
  abstract close(): Promise<void>;

  async run<T>(key: string, fn: (lease: Lease) => Promise<T>, options?: LockOptions): Promise<T> {
    return holding(await this.acquire(key, options), lockTimes(options).leaseMs, fn);
  }

  async tryRun<T>(key: string, fn: (lease: Lease) => Promise<T>, options?: LockOptions): Promise<{ ran: true; value: T } | { ran: false }> {
    const lease = await this.tryAcquire(key, options);
    if (!lease) return { ran: false };
    return { ran: true, value: await holding(lease, lockTimes(options).leaseMs, fn) };
  }
}

/** Runs `fn` under `lease`, renewing it every third of its length, and releases it however `fn` ends. */
async function holding<T>(lease: Lease, leaseMs: number, fn: (lease: Lease) => Promise<T>): Promise<T> {
  let renewing = false;
  const heartbeat = setInterval(() => {
    if (renewing) return;
    renewing = true;
    // A failed renewal marks the lease lost; `fn` finds out at its next `check()`.
    lease.renew().catch(() => undefined).finally(() => (renewing = false));
  }, Math.max(5, Math.floor(leaseMs / 3)));
  try {
    return await fn(lease);
  } finally {
    clearInterval(heartbeat);
    // A release that fails (the store went away) leaves a lease that runs out on its own; fn's outcome stands.
    await lease.release().catch(() => undefined);
  }
}
