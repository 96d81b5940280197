/**
 * Single-flight mirror fills across processes and nodes, through the storage's shared {@link Locks}: the process
 * holding the lease `mirror-fill:<upstream>/<digest>` fetches from upstream and keeps the lease until its fill has
 * ended (published or failed). Any other process waits for that lease — bounded, renewing nothing of its own — and,
 * once it is free, finds the blob in the shared store and serves it from there. A wait that passes its deadline
 * fetches on its own (one more upstream GET, still verified and published atomically); a lease that is free but
 * leaves no blob behind (the holder's fill failed, or it died and its lease ran out) is kept, and this process fills.
 *
 * Within one process concurrent misses share one claim here and then one {@link BlobFill} (FillRegistry), so a
 * process polls the lock store once per digest, not once per client.
 */
import type { Digest } from '../oci/digest.ts';
import type { Lease, Locks } from '../storage/types.ts';

/** Default bound of a wait for another node's fill, in ms. */
export const DEFAULT_FILL_WAIT_MS = 60_000;
/**
 * Lease of a fill, renewed every third of it while the fill runs: how long the waiters of a node that died keep
 * waiting before one of them fetches. Shorter than the upload locks' lease, since nothing but a refetch is at stake.
 */
export const FILL_LEASE_MS = 10_000;

/** The outcome of {@link FillLeases.claim}. */
export type FillClaim =
  /** This process fills. `take()` hands the lease to the one fill that starts (undefined after the first call). */
  | { kind: 'fill'; take(): Lease | undefined }
  /** Another process stored the blob while this one waited: serve it from the store. */
  | { kind: 'stored' }
  /** The wait ran out (or the lock store failed): fill without a lease. */
  | { kind: 'deadline' };

/** Cross-process claims on mirror fills. */
export class FillLeases {
  private readonly claims = new Map<string, Promise<FillClaim>>();
  private readonly leaseMs: number;
  private readonly waitMs: number;

  constructor(
    private readonly locks: Locks,
    options: { leaseMs?: number; waitMs?: number } = {},
  ) {
    this.leaseMs = options.leaseMs ?? FILL_LEASE_MS;
    this.waitMs = options.waitMs ?? DEFAULT_FILL_WAIT_MS;
  }

  /**
   * Claims the fill of `digest` from `upstream` for this process, or waits for the process that has it.
   * @param stored whether the blob is in the shared store now
   */
  claim(upstream: string, digest: Digest, stored: () => Promise<boolean>): Promise<FillClaim> {
    const key = fillLockKey(upstream, digest);
    const running = this.claims.get(key);
    if (running) return running;
    const claim = this.claimOnce(key, stored).finally(() => this.claims.delete(key));
    this.claims.set(key, claim);
    return claim;
  }

  /**
   * Keeps `lease` while `fill` runs (renewed every third of its length) and releases it when the fill has ended.
   * A renewal that fails leaves the fill running: its result is verified and published atomically whoever else
   * fetches meanwhile.
   */
  hold(lease: Lease, fill: Promise<unknown>): void {
    const timer = setInterval(() => void lease.renew().catch(() => clearInterval(timer)), Math.max(10, Math.floor(this.leaseMs / 3)));
    void fill.finally(() => {
      clearInterval(timer);
      return lease.release().catch(() => undefined);
    });
  }

  private async claimOnce(key: string, stored: () => Promise<boolean>): Promise<FillClaim> {
    let lease: Lease | undefined;
    try {
      lease = await this.locks.tryAcquire(key, { leaseMs: this.leaseMs });
      // Held elsewhere: wait for the holder's fill to end (its lease is released after the blob is published).
      lease ??= await this.locks.acquire(key, { leaseMs: this.leaseMs, waitMs: this.waitMs });
    } catch {
      // A LockTimeoutError, or the lock store failing: neither may fail the pull, and fetching without a lease
      // costs only upstream traffic.
      return { kind: 'deadline' };
    }
    let found = false;
    try {
      found = await stored();
    } catch (error) {
      await lease.release().catch(() => undefined);
      throw error;
    }
    if (found) {
      await lease.release().catch(() => undefined);
      return { kind: 'stored' };
    }
    let given: Lease | undefined = lease;
    return {
      kind: 'fill',
      take: () => {
        const taken = given;
        given = undefined;
        return taken;
      },
    };
  }
}

/** The lock a mirror fill of `digest` from `upstream` holds. */
export function fillLockKey(upstream: string, digest: Digest): string {
  return `mirror-fill:${upstream}/${digest}`;
}
