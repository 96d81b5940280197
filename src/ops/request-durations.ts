/**
 * `marina_http_request_duration_seconds`: a Prometheus histogram registered in prom-client's registry and printed
 * exactly as prom-client prints its own, but observed without prom-client's per-observation label validation and
 * hashing (a label child still validates and hashes on every `observe`, a tenth of a manifest GET's server cost).
 * A series is looked up once per label set and kept; an observation is then a bucket search and three additions.
 */
import type { Registry } from './prom.ts';

/** Label values of one series. */
export interface DurationLabels {
  route: string;
  method: string;
  status: string;
}

/** One label set's counts; observe through {@link RequestDurations.observe}. */
export interface DurationSeries {
  readonly labels: DurationLabels;
  /** Observations per bucket (not cumulative), one slot per upper bound. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** The request-duration histogram. */
export class RequestDurations {
  readonly name = 'marina_http_request_duration_seconds';
  readonly help = 'Time to response headers by route kind, method and status (its _count is the request count)';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly all = new Map<string, DurationSeries>();

  constructor(
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    // prom-client's registry only needs name, get() and (for text) getForPromString().
    registry.registerMetric(this as never);
  }

  /** The series of a label set, created empty on first use. Keep it: `series` itself builds a key. */
  series(route: string, method: string, status: string): DurationSeries {
    const key = `${route} ${method} ${status}`;
    let s = this.all.get(key);
    if (!s) this.all.set(key, (s = { labels: { route, method, status }, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    return s;
  }

  /** Records one duration in seconds. */
  observe(series: DurationSeries, seconds: number): void {
    const { buckets } = this;
    let i = 0;
    while (i < buckets.length && seconds > buckets[i]!) i++;
    if (i < buckets.length) series.counts[i]!++;
    series.sum += seconds;
    series.count++;
  }

  /** Forgets every observation (prom-client's `registry.resetMetrics()`). */
  reset(): void {
    this.all.clear();
  }

  /** The values as prom-client's text formatter reads them: bucket labels `le`, the series' labels shared. */
  async getForPromString() {
    // `exemplar` as prom-client sets it without exemplars: null on buckets, undefined on _sum and _count.
    const values: { labels: Record<string, string | number>; sharedLabels?: DurationLabels; value: number; metricName: string; exemplar: null | undefined }[] = [];
    for (const s of this.all.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ labels: { le }, sharedLabels: s.labels, value: cumulative, metricName: `${this.name}_bucket`, exemplar: null });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_bucket`, exemplar: null });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum`, exemplar: undefined });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count`, exemplar: undefined });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The values with every label on each (prom-client's JSON form). */
  async get() {
    const data = await this.getForPromString();
    return { ...data, values: data.values.map(({ labels, sharedLabels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })) };
  }
}
