/** The request-duration histogram prints exactly what prom-client's own Histogram prints for the same observations. */
import { describe, expect, test } from 'bun:test';
import { Histogram, Registry } from 'prom-client';
import { RequestDurations } from '../../src/ops/request-durations.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const observations: [string, string, string, number][] = [
  ['manifest', 'GET', '200', 0.0004],
  ['manifest', 'GET', '200', 0.001],
  ['manifest', 'GET', '200', 0.05],
  ['blob', 'HEAD', '404', 2.5],
  ['uploads', 'POST', '202', 0.02],
  ['manifest', 'GET', '200', 0.0000001],
];

describe('RequestDurations', () => {
  test('renders the text and JSON exposition of prom-client’s Histogram, line for line', async () => {
    const theirs = new Registry();
    const reference = new Histogram({ name: 'marina_http_request_duration_seconds', help: 'Time to response headers by route kind, method and status (its _count is the request count)', labelNames: ['route', 'method', 'status'], buckets: BUCKETS, registers: [theirs] });
    const ours = new Registry();
    const durations = new RequestDurations(BUCKETS, ours);
    for (const [route, method, status, seconds] of observations) {
      reference.labels(route, method, status).observe(seconds);
      durations.observe(durations.series(route, method, status), seconds);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  test('prints nothing but its help and type before the first request', async () => {
    const registry = new Registry();
    new RequestDurations(BUCKETS, registry);
    expect((await registry.metrics()).trim().split('\n')).toEqual([
      '# HELP marina_http_request_duration_seconds Time to response headers by route kind, method and status (its _count is the request count)',
      '# TYPE marina_http_request_duration_seconds histogram',
    ]);
  });
});
