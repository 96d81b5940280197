/**
 * A circuit breaker per upstream: after repeated failures (timeouts, resets, 5xx, broken bodies) the mirror stops
 * dialling it for a cool-down that doubles on each failed probe, then lets exactly one request through as a probe;
 * its success closes the circuit. While open, cached content is served stale at once and uncached content fails
 * fast, instead of every client waiting out the upstream timeout again.
 */

/** closed: requests flow; open: none do; half-open: one probe is out. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Settings of a breaker. */
export interface BreakerOptions {
  /** Consecutive failures that open the circuit. @default 3 */
  failureThreshold?: number;
  /** First cool-down, in ms; doubles after each failed probe. @default 1000 */
  cooldownMs?: number;
  /** Longest cool-down, in ms. @default 60000 */
  maxCooldownMs?: number;
}

/** One upstream's breaker. */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private cooldown: number;
  private openUntil = 0;
  private readonly threshold: number;
  private readonly baseCooldown: number;
  private readonly maxCooldown: number;

  /** @param onChange told of every state change (for logs and metrics) */
  constructor(options: BreakerOptions = {}, private readonly onChange: (state: BreakerState, detail: { cooldownMs: number; failures: number }) => void = () => {}) {
    this.threshold = options.failureThreshold ?? 3;
    this.baseCooldown = options.cooldownMs ?? 1000;
    this.maxCooldown = options.maxCooldownMs ?? 60_000;
    this.cooldown = this.baseCooldown;
  }

  /** The state now (an open circuit whose cool-down has passed reads as half-open: the next request probes). */
  get state(): BreakerState {
    return this.current === 'open' && Date.now() >= this.openUntil ? 'half-open' : this.current;
  }

  /** Ms until the next probe may go, while open. */
  get retryInMs(): number {
    return Math.max(0, this.openUntil - Date.now());
  }

  /**
   * Asks to send a request: true when it may go (closed, or this is the one probe of a half-open circuit).
   * A caller that got true must report `success()` or `failure()`.
   */
  admit(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open' && Date.now() >= this.openUntil) {
      this.set('half-open');
      return true;
    }
    return false;
  }

  /** The request got an answer that says the upstream works. */
  success(): void {
    this.failures = 0;
    if (this.current !== 'closed') {
      this.cooldown = this.baseCooldown;
      this.set('closed');
    }
  }

  /** The request failed in a way that says the upstream is sick. */
  failure(): void {
    this.failures++;
    if (this.current === 'half-open') {
      this.cooldown = Math.min(this.cooldown * 2, this.maxCooldown);
      this.open();
    } else if (this.current === 'closed' && this.failures >= this.threshold) this.open();
  }

  private open(): void {
    this.openUntil = Date.now() + this.cooldown;
    this.set('open');
  }

  private set(state: BreakerState): void {
    this.current = state;
    this.onChange(state, { cooldownMs: this.cooldown, failures: this.failures });
  }
}
