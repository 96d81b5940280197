/**
 * Prometheus metrics (prom-client). Per request: one histogram observation whose labels come from the route kind,
 * never the raw path, so label cardinality stays bounded (≈ 8 routes × 6 methods × ~15 statuses); label children
 * are cached so the hot path does no label hashing. Everything else (mirror counters, storage census, disk space)
 * is read when Prometheus scrapes.
 */
import * as fs from 'node:fs';
import { Counter, Gauge, Registry as PromRegistry, collectDefaultMetrics } from './prom.ts';
import type { RequestRecord } from '../http/dispatch.ts';
import type { GcReport } from '../core/gc.ts';
import type { StorageCensus } from './storage-census.ts';
import { receivedBytes } from './access-log.ts';
import { cacheOutcome } from './cache-status.ts';
import { RequestDurations, type DurationSeries } from './request-durations.ts';

/** Where scrape-time values come from; each is optional so the metrics work for any registry shape. */
export interface MetricSources {
  /** Mirror counters (`Mirror.stats()`), read on scrape. */
  mirrorStats?: () => MirrorStatsLike | undefined | Promise<MirrorStatsLike | undefined>;
  /** Data directory, for free/total filesystem space. */
  dataDir?: string;
  census?: StorageCensus;
  /** Open upload sessions (the upload ledger's count; bounded by the session cap). */
  openUploads?: () => number | Promise<number>;
}

/** The fields of `Mirror.stats()` read here; all optional, so a reshaped mirror degrades to zeros, not errors. */
export interface MirrorStatsLike {
  hits?: number;
  misses?: number;
  joined?: number;
  stale?: number;
  bytesServedFromCache?: number;
  cacheBytes?: number;
  evictedImages?: number;
  upstreams?: Record<string, { requests?: number; blobRequests?: number; bytesFetched?: number; failures?: number }>;
}

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

// On Bun, perf_hooks' event-loop delay monitor reports min 9.2e9 s and NaN means; these would only mislead.
const BROKEN_ON_BUN = /^nodejs_eventloop_lag/;

/** The metrics of one server process. */
export class Metrics {
  readonly registry = new PromRegistry();
  private readonly duration: RequestDurations;
  private readonly bytesOut: Counter<'route'>;
  private readonly bytesIn: Counter<'route'>;
  private readonly uploadsInProgress: Gauge;
  private readonly mirrorResponses: Counter<'outcome'>;
  private readonly gcRuns: Counter;
  private readonly gcFreed: Counter;
  private readonly gcBlobs: Counter;
  private readonly gcLast: Gauge;
  private readonly children = new Map<string, DurationSeries>();
  private readonly outChildren = new Map<string, { inc(v: number): void }>();
  private readonly inChildren = new Map<string, { inc(v: number): void }>();
  private defaults = false;

  constructor(private readonly sources: MetricSources = {}) {
    const registers = [this.registry];

    this.duration = new RequestDurations(DURATION_BUCKETS, this.registry);
    this.bytesOut = new Counter({ name: 'marina_http_response_bytes_total', help: 'Response body bytes served (Content-Length; HEAD excluded)', labelNames: ['route'], registers });
    this.bytesIn = new Counter({ name: 'marina_http_request_bytes_total', help: 'Request body bytes received (Content-Length, or counted for chunked bodies)', labelNames: ['route'], registers });
    this.uploadsInProgress = new Gauge({ name: 'marina_uploads_in_progress', help: 'Upload requests (POST/PATCH/PUT of blob uploads) being received now', registers });
    this.mirrorResponses = new Counter({
      name: 'marina_mirror_responses_total',
      help: 'Mirrored reads by cache outcome (hit, miss, joined, stale, revalidated), from each response Cache-Status',
      labelNames: ['outcome'],
      registers,
    });
    this.gcRuns = new Counter({ name: 'marina_gc_runs_total', help: 'Garbage collections run in this process', registers });
    this.gcFreed = new Counter({ name: 'marina_gc_freed_bytes_total', help: 'Bytes freed by garbage collection', registers });
    this.gcBlobs = new Counter({ name: 'marina_gc_deleted_blobs_total', help: 'Blob files deleted by garbage collection', registers });
    this.gcLast = new Gauge({ name: 'marina_gc_last_run_timestamp_seconds', help: 'When the last garbage collection finished', registers });
    this.scrapeTimeMetrics();
  }

  /** Records one finished request. `seconds` is the time to response headers. */
  observeRequest(record: RequestRecord, response: Response, seconds: number): void {
    const { route, method } = record;
    const status = response.status;
    const key = `${route} ${method} ${status}`;
    let series = this.children.get(key);
    if (!series) {
      // Unknown methods would be unbounded label values; they all become OTHER.
      series = this.duration.series(route, KNOWN_METHODS.has(method) ? method : 'OTHER', String(status));
      this.children.set(key, series);
    }
    this.duration.observe(series, seconds);
    if (method !== 'HEAD') {
      const out = Number(response.headers.get('content-length'));
      if (out > 0) this.child(this.outChildren, this.bytesOut, route).inc(out);
    }
    const received = receivedBytes(record);
    if (received > 0) this.child(this.inChildren, this.bytesIn, route).inc(received);
    const cache = response.headers.get('cache-status');
    if (cache !== null) this.mirrorResponses.inc({ outcome: cacheOutcome(cache) });
  }

  /** Counts an upload request starting (+1) or finishing (-1). */
  uploadInFlight(delta: 1 | -1): void {
    this.uploadsInProgress.inc(delta);
  }

  /** Records a finished garbage collection. */
  recordGc(report: GcReport): void {
    this.gcRuns.inc();
    this.gcFreed.inc(report.freedBytes);
    this.gcBlobs.inc(report.deletedBlobs);
    this.gcLast.set(Date.now() / 1000);
  }

  /** The exposition text. */
  render(): Promise<string> {
    this.registerDefaults();
    return this.registry.metrics();
  }

  /** The exposition format's content type. */
  /**
   * prom-client's process and runtime metrics, registered at the first scrape rather than at start-up (their
   * module and first collection are several ms of a cold start; CPU time and start time are cumulative anyway).
   */
  private registerDefaults(): void {
    if (this.defaults) return;
    this.defaults = true;
    collectDefaultMetrics({ register: this.registry });
    for (const m of this.registry.getMetricsAsArray()) if (BROKEN_ON_BUN.test(m.name)) this.registry.removeSingleMetric(m.name);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private child(cache: Map<string, { inc(v: number): void }>, counter: Counter<'route'>, route: string): { inc(v: number): void } {
    let c = cache.get(route);
    if (!c) cache.set(route, (c = counter.labels(route)));
    return c;
  }

  /** Metrics whose values are read on scrape. */
  private scrapeTimeMetrics(): void {
    const registers = [this.registry];
    const { mirrorStats, dataDir, census, openUploads } = this.sources;
    if (openUploads) {
      new Gauge({
        name: 'marina_upload_sessions_open',
        help: 'Upload sessions started and neither finished, cancelled nor purged',
        registers,
        async collect() {
          this.set(await openUploads());
        },
      });
    }
    const mirrorCounter = (name: string, help: string, pick: (s: MirrorStatsLike) => number | undefined) =>
      new Counter({
        name,
        help,
        registers,
        async collect() {
          const stats = await mirrorStats?.();
          this.reset();
          if (stats) this.inc(pick(stats) ?? 0);
        },
      });
    if (mirrorStats) {
      mirrorCounter('marina_mirror_hits_total', 'Mirror reads answered from the cache (revalidated tags included)', (s) => s.hits);
      mirrorCounter('marina_mirror_misses_total', 'Mirror reads that went to the upstream', (s) => s.misses);
      mirrorCounter('marina_mirror_joins_total', 'Mirror reads that joined a fetch already in flight', (s) => s.joined);
      mirrorCounter('marina_mirror_stale_total', 'Mirror reads answered with cached content because the upstream failed or throttled', (s) => s.stale);
      mirrorCounter('marina_mirror_bytes_saved_total', 'Blob bytes served from the mirror cache instead of the upstream', (s) => s.bytesServedFromCache);
      mirrorCounter('marina_mirror_evicted_images_total', 'Mirrored images evicted to keep the cache under budget', (s) => s.evictedImages);
      new Gauge({
        name: 'marina_mirror_cache_bytes',
        help: 'Bytes of mirrored content in the cache',
        registers,
        async collect() {
          this.set((await mirrorStats())?.cacheBytes ?? 0);
        },
      });
      const perUpstream = (name: string, help: string, field: 'requests' | 'bytesFetched' | 'failures') =>
        new Counter({
          name,
          help,
          labelNames: ['upstream'],
          registers,
          async collect() {
            const stats = await mirrorStats();
            this.reset();
            for (const [upstream, s] of Object.entries(stats?.upstreams ?? {})) this.inc({ upstream }, s[field] ?? 0);
          },
        });
      perUpstream('marina_mirror_upstream_requests_total', 'Requests sent to each upstream', 'requests');
      perUpstream('marina_mirror_upstream_bytes_total', 'Blob bytes fetched from each upstream', 'bytesFetched');
      perUpstream('marina_mirror_upstream_failures_total', 'Upstream requests that failed (network, timeout, 5xx)', 'failures');
    }
    if (dataDir) {
      const space = (name: string, help: string, pick: (s: fs.StatsFs) => number) =>
        new Gauge({
          name,
          help,
          registers,
          collect() {
            try {
              this.set(pick(fs.statfsSync(dataDir)));
            } catch {
              this.reset();
            }
          },
        });
      space('marina_data_filesystem_free_bytes', 'Bytes available to Marina on the data directory filesystem', (s) => s.bavail * s.bsize);
      space('marina_data_filesystem_size_bytes', 'Size of the data directory filesystem', (s) => s.blocks * s.bsize);
    }
    if (census) census.register(registers);
  }
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
