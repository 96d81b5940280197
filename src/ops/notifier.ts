/**
 * Notifications: registry events (push, pull, delete, mirror fill) fanned out to webhook endpoints, each with its
 * own filters and queue. Plugged into the registry as its `events`; reconfigurable live (queues of endpoints that
 * stay keep their events).
 */
import { Counter, Gauge, type Registry as PromRegistry } from './prom.ts';
import type { RegistryEvent, RegistryEvents } from '../core/context.ts';
import type { Logger } from '../logger.ts';
import { toNotification, type EventAction, type EventSource } from './envelope.ts';
import { compileLooseGlob, type Glob } from '../oci/repository-glob.ts';
import { WebhookEndpoint, type EndpointSettings } from './webhook-endpoint.ts';

/** One endpoint as configured (`notifications.endpoints[]`). */
export interface EndpointConfig {
  /** Name in logs and metrics. */
  name: string;
  url: string;
  /** Extra request headers, e.g. Authorization. */
  headers?: Record<string, string>;
  /** Per-attempt timeout. @default 5000 */
  timeoutMs?: number;
  /** Actions to send. @default all: push, pull, delete, fill */
  actions?: EventAction[];
  /** Repository globs (`*` matches anything); an event goes out when any matches. @default all */
  repositories?: string[];
  /** What kinds of target to send. @default manifest, blob and tag */
  kinds?: RegistryEvent['kind'][];
  /** Events held while the receiver is slow or down; more are dropped. @default 10000 */
  queueSize?: number;
  /** Events per POST. @default 50 */
  maxBatch?: number;
  /** First retry delay. @default 500 */
  backoffMs?: number;
  /** Longest retry delay. @default 60000 */
  maxBackoffMs?: number;
  /** An event undelivered for this long is dropped. @default 3600 */
  retryForSeconds?: number;
}

/** The `notifications` config key. */
export interface NotificationsConfig {
  endpoints: EndpointConfig[];
}

interface Route {
  endpoint: WebhookEndpoint;
  config: EndpointConfig;
  actions?: Set<EventAction>;
  kinds?: Set<RegistryEvent['kind']>;
  /** Repository filters, compiled once per configuration. */
  globs?: Glob[];
}

/** Fans events out to the configured endpoints. */
export class Notifier {
  private routes: Route[] = [];
  readonly source: EventSource;

  constructor(
    config: NotificationsConfig | undefined,
    private readonly logger: Logger,
    source: Partial<EventSource> = {},
  ) {
    this.source = { addr: source.addr ?? '', instanceID: source.instanceID ?? crypto.randomUUID(), baseUrl: source.baseUrl };
    this.configure(config);
  }

  /** The registry's event hooks. */
  get events(): RegistryEvents {
    return {
      onPush: (e) => this.publish('push', e),
      onPull: (e) => this.publish('pull', e),
      onDelete: (e) => this.publish('delete', e),
    };
  }

  /** Sends an event to every endpoint whose filters accept it. Never waits. */
  publish(action: EventAction, event: RegistryEvent): void {
    let built;
    for (const r of this.routes) {
      if (r.actions && !r.actions.has(action)) continue;
      if (r.kinds && !r.kinds.has(event.kind)) continue;
      if (r.globs && !r.globs.some((g) => g.matches(event.repository))) continue;
      // One id per event across endpoints, so receivers can de-duplicate.
      built ??= toNotification(action, event, this.source);
      r.endpoint.publish(built);
    }
  }

  /** Applies a new endpoint list: endpoints kept by name keep their queues; removed ones stop. */
  configure(config: NotificationsConfig | undefined): void {
    const old = new Map(this.routes.map((r) => [r.config.name, r]));
    this.routes = (config?.endpoints ?? []).map((c) => {
      const settings = settingsOf(c);
      const kept = old.get(c.name);
      old.delete(c.name);
      const endpoint = kept?.endpoint ?? new WebhookEndpoint(settings, this.logger);
      endpoint.settings = settings;
      return { endpoint, config: c, actions: c.actions && new Set(c.actions), kinds: c.kinds && new Set(c.kinds), globs: c.repositories?.map(compileLooseGlob) };
    });
    for (const r of old.values()) {
      if (r.endpoint.length) this.logger.warn('webhook endpoint removed; its queued events are dropped', { endpoint: r.config.name, events: r.endpoint.length });
      r.endpoint.stop();
    }
  }

  /** Waits (bounded) for queues to drain, then stops every endpoint. */
  async close(drainMs = 2000): Promise<void> {
    await Promise.all(this.routes.map((r) => r.endpoint.drain(drainMs)));
    for (const r of this.routes) r.endpoint.stop();
  }

  /** Adds delivery metrics to a prom-client registry (read on scrape). */
  register(registers: PromRegistry[]): void {
    const routes = () => this.routes;
    const counter = (name: string, help: string, field: 'delivered' | 'failedAttempts' | 'dropped' | 'expired') =>
      new Counter({
        name,
        help,
        labelNames: ['endpoint'],
        registers,
        collect() {
          this.reset();
          for (const r of routes()) this.inc({ endpoint: r.config.name }, r.endpoint.stats[field]);
        },
      });
    counter('marina_webhook_events_delivered_total', 'Events a webhook receiver acknowledged (2xx)', 'delivered');
    counter('marina_webhook_failed_attempts_total', 'Webhook POSTs that failed (error, timeout or non-2xx) and will be retried', 'failedAttempts');
    counter('marina_webhook_events_dropped_total', 'Events dropped because the endpoint queue was full', 'dropped');
    counter('marina_webhook_events_expired_total', 'Events dropped after retrying for retryForSeconds', 'expired');
    new Gauge({
      name: 'marina_webhook_queue_length',
      help: 'Events waiting for delivery',
      labelNames: ['endpoint'],
      registers,
      collect() {
        this.reset();
        for (const r of routes()) this.set({ endpoint: r.config.name }, r.endpoint.length);
      },
    });
  }
}

function settingsOf(c: EndpointConfig): EndpointSettings {
  return {
    name: c.name,
    url: c.url,
    headers: c.headers ?? {},
    timeoutMs: c.timeoutMs ?? 5000,
    queueSize: c.queueSize ?? 10000,
    maxBatch: c.maxBatch ?? 50,
    backoffMs: c.backoffMs ?? 500,
    maxBackoffMs: c.maxBackoffMs ?? 60000,
    retryForSeconds: c.retryForSeconds ?? 3600,
  };
}
