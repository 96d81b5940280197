/**
 * The parts of prom-client Marina uses, loaded without prom-client's index: the index also loads its Pushgateway
 * (node:http, node:https, node:zlib), the cluster aggregator and Summary, which cost a cold start several
 * milliseconds and are never used here.
 */
import type * as Prom from 'prom-client';

export const Registry = require('prom-client/lib/registry') as typeof Prom.Registry;
export type Registry = Prom.Registry;
export const Counter = require('prom-client/lib/counter') as typeof Prom.Counter;
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge = require('prom-client/lib/gauge') as typeof Prom.Gauge;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
/** prom-client's process and runtime metrics, loaded on first use (a scrape): they cost a cold start ~7 ms. */
export function collectDefaultMetrics(config: Parameters<typeof Prom.collectDefaultMetrics>[0]): void {
  (require('prom-client/lib/defaultMetrics') as typeof Prom.collectDefaultMetrics)(config);
}
