/**
 * One webhook receiver: a bounded in-memory queue and one delivery loop. Events go out in order, in batches of up
 * to `maxBatch` per POST; a batch leaves the queue only when the receiver answers 2xx. Each attempt has a timeout;
 * failures back off exponentially (with jitter) up to `maxBackoffMs`, and a batch still undelivered after
 * `retryForSeconds` is dropped with a log line. Publishing is O(1) and never waits: a full queue drops the new
 * event and counts it, so a slow or dead receiver can only cost memory up to `queueSize` events.
 */
import type { Logger } from '../logger.ts';
import { ENVELOPE_MEDIA_TYPE, type NotificationEvent } from './envelope.ts';

/** Settings of one endpoint, defaults applied. */
export interface EndpointSettings {
  name: string;
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
  queueSize: number;
  maxBatch: number;
  backoffMs: number;
  maxBackoffMs: number;
  retryForSeconds: number;
}

/** Delivery counters of one endpoint. */
export interface EndpointStats {
  delivered: number;
  failedAttempts: number;
  dropped: number;
  expired: number;
  queued: number;
}

interface Queued {
  event: NotificationEvent;
  /** When the event was first attempted (ms), for the delivery deadline. */
  firstTry?: number;
}

/** A receiver's queue and delivery loop. */
export class WebhookEndpoint {
  private queue: Queued[] = [];
  private head = 0;
  private running = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private inflight: AbortController | undefined;
  readonly stats: EndpointStats = { delivered: 0, failedAttempts: 0, dropped: 0, expired: 0, queued: 0 };

  constructor(
    public settings: EndpointSettings,
    private readonly logger: Logger,
  ) {}

  /** Queues an event; never blocks. False when the queue was full and the event was dropped. */
  publish(event: NotificationEvent): boolean {
    if (this.stopped) return false;
    if (this.length >= this.settings.queueSize) {
      this.stats.dropped++;
      // One warning per power of two, so a dead receiver under load does not flood the log.
      if ((this.stats.dropped & (this.stats.dropped - 1)) === 0) {
        this.logger.warn('webhook queue full; events dropped', { endpoint: this.settings.name, dropped: this.stats.dropped, queueSize: this.settings.queueSize });
      }
      return false;
    }
    this.queue.push({ event });
    this.stats.queued = this.length;
    if (!this.running) void this.run();
    else this.wake?.();
    return true;
  }

  /** Events waiting for delivery. */
  get length(): number {
    return this.queue.length - this.head;
  }

  /** Waits (at most `ms`) for the queue to drain, e.g. at shutdown. */
  async drain(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.length > 0 && Date.now() < deadline && !this.stopped) await Bun.sleep(20);
  }

  /** Stops delivering; queued events are discarded. */
  stop(): void {
    this.stopped = true;
    this.inflight?.abort();
    this.wake?.();
  }

  private async run(): Promise<void> {
    this.running = true;
    let failures = 0;
    try {
      while (!this.stopped && this.length > 0) {
        const batch = this.queue.slice(this.head, this.head + this.settings.maxBatch);
        const now = Date.now();
        for (const q of batch) q.firstTry ??= now;
        const oldest = batch[0]!.firstTry!;
        if (now - oldest > this.settings.retryForSeconds * 1000) {
          this.stats.expired += batch.length;
          this.logger.error('webhook delivery gave up; events dropped', { endpoint: this.settings.name, events: batch.length, firstEvent: batch[0]!.event.id });
          this.take(batch.length);
          continue;
        }
        const error = await this.send(batch.map((q) => q.event));
        if (error === undefined) {
          this.stats.delivered += batch.length;
          this.take(batch.length);
          failures = 0;
          continue;
        }
        this.stats.failedAttempts++;
        failures++;
        const wait = Math.min(this.settings.maxBackoffMs, this.settings.backoffMs * 2 ** Math.min(failures - 1, 30));
        const jittered = wait / 2 + Math.random() * (wait / 2);
        if (failures === 1 || (failures & (failures - 1)) === 0) {
          this.logger.warn('webhook delivery failed; retrying', { endpoint: this.settings.name, error, attempt: failures, retryInMs: Math.round(jittered), queued: this.length });
        }
        await this.sleep(jittered);
      }
    } finally {
      this.running = false;
    }
  }

  private take(n: number): void {
    this.head += n;
    // Compact now and then, so the array does not grow with everything ever delivered.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.stats.queued = this.length;
  }

  /** One POST; resolves to an error message, or undefined on 2xx. */
  private async send(events: NotificationEvent[]): Promise<string | undefined> {
    const controller = new AbortController();
    this.inflight = controller;
    const timer = setTimeout(() => controller.abort(), this.settings.timeoutMs);
    try {
      const res = await fetch(this.settings.url, {
        method: 'POST',
        headers: { ...this.settings.headers, 'Content-Type': ENVELOPE_MEDIA_TYPE },
        body: JSON.stringify({ events }),
        signal: controller.signal,
        redirect: 'manual',
      });
      await res.body?.cancel().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? undefined : `receiver answered ${res.status}`;
    } catch (error) {
      return controller.signal.aborted && !this.stopped ? `no answer within ${this.settings.timeoutMs} ms` : error instanceof Error ? error.message : String(error);
    } finally {
      clearTimeout(timer);
      this.inflight = undefined;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        if (this.stopped) done();
      };
    });
  }
}
