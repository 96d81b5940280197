/**
 * The server's operations face, built from the server config: metrics, health, request ids and access logs, and
 * the HTTP answers for `/metrics`, `/healthz` and `/readyz` (on the registry's address, or on `metricsAddr`).
 */
import type { RequestObserver } from '../http/dispatch.ts';
import { matchRoute, splitUrl } from '../http/paths.ts';
import type { Logger } from '../logger.ts';
import type { Registry } from '../registry.ts';
import type { Storage } from '../storage/storage.ts';
import { Health } from './health.ts';
import { cacheOutcome } from './cache-status.ts';
import { Metrics } from './metrics.ts';
import { Notifier, type NotificationsConfig } from './notifier.ts';
import { createObserver, type ObserverSettings } from './observer.ts';
import { StorageCensus } from './storage-census.ts';

/** The settings this module reads (a subset of the server config). */
export interface OpsConfig {
  accessLog: boolean;
  metrics: boolean;
  metricsAddr?: string;
  storageCensusSeconds: number;
  readyzUpstreams: boolean;
  mirrors: { name: string; url: string }[];
  notifications?: NotificationsConfig;
}

/** Operations state of one server. */
export interface Ops {
  readonly observer: RequestObserver;
  readonly metrics: Metrics | undefined;
  readonly health: Health;
  /** Settings that live reload may change. */
  readonly settings: ObserverSettings & { readyzUpstreams: boolean };
  readonly census: StorageCensus | undefined;
  /** Webhook notifications; pass `notifier.events` to the registry. */
  readonly notifier: Notifier;
  /** Hooks the registry in once built (mirror counters, GC accounting). */
  attach(registry: Registry): void;
  /**
   * The answer to an operations path, or undefined for anything else. `metricsHere` is false when metrics live on
   * metricsAddr. `guard`, when given, answers a request for `/metrics` that may not see them (401/403).
   */
  route(request: Request, metricsHere: boolean, guard?: (request: Request) => Promise<Response | undefined>): Response | Promise<Response> | undefined;
}

/** Builds the operations state from the config. */
export function createOps(config: OpsConfig, logger: Logger, storage: Storage): Ops {
  let registry: Registry | undefined;
  const census = config.metrics ? new StorageCensus(storage, config.storageCensusSeconds, (error) => logger.warn('storage census failed', { error })) : undefined;
  const metrics = config.metrics
    ? new Metrics({ dataDir: storage.root, census, openUploads: () => storage.ledger.count(), mirrorStats: config.mirrors.length ? () => registry?.mirror?.stats() : undefined })
    : undefined;
  const health = new Health({
    dataDir: storage.root,
    index: storage.index,
    upstreams: () => (settings.readyzUpstreams ? config.mirrors : []),
    onFailure: (check, error) => logger.warn('readiness check failed', { check, error }),
  });
  const settings = { accessLog: config.accessLog, readyzUpstreams: config.readyzUpstreams };
  const notifier = new Notifier(config.notifications, logger);
  if (metrics) notifier.register([metrics.registry]);
  const observer = createObserver(logger, metrics, settings, (record, response) => {
    // The mirror fills its cache without going through core's events; a miss answered 200 is a fill.
    if (response.status !== 200 || record.method !== 'GET') return;
    const cache = response.headers.get('cache-status');
    if (cache === null || cacheOutcome(cache) !== 'miss') return;
    const route = matchRoute(record.path);
    if (!route || (route.kind !== 'manifest' && route.kind !== 'blob')) return;
    const digest = response.headers.get('docker-content-digest');
    if (!digest) return;
    notifier.publish('fill', {
      kind: route.kind,
      repository: route.name,
      reference: route.kind === 'manifest' ? route.reference : digest,
      digest: digest as never,
      mediaType: response.headers.get('content-type') ?? 'application/octet-stream',
      size: Number(response.headers.get('content-length') ?? 0),
    });
  });
  return {
    observer,
    metrics,
    health,
    settings,
    census,
    notifier,
    attach(r) {
      registry = r;
      if (!metrics) return;
      // GC started in this process (a schedule, the library call) is counted whoever calls it.
      const collect = r.collectGarbage.bind(r);
      r.collectGarbage = async (options) => {
        const report = await collect(options);
        if (!options?.dryRun) metrics.recordGc(report);
        return report;
      };
    },
    route(request, metricsHere, guard) {
      const { pathname } = splitUrl(request.url);
      // Registry paths go on at once; only a handful of others are compared below.
      if (pathname.startsWith('/v2')) return undefined;
      if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
      if (pathname === '/healthz') return health.alive();
      if (pathname === '/readyz') return health.ready();
      if (pathname === '/metrics' && metrics && metricsHere) {
        const render = () => metrics.render().then((text) => new Response(text, { headers: { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' } }));
        return guard ? guard(request).then((denied) => denied ?? render()) : render();
      }
      return undefined;
    },
  };
}
