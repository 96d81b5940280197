/** The state the web page keeps between requests, and its options. */
import type { Authorize } from '../http/auth.ts';
import type { Logger } from '../logger.ts';
import type { Registry } from '../registry.ts';
import { MirrorSamples } from './mirror-samples.ts';
import { StorageReports } from './storage-report.ts';
import { RepositorySummaries } from './summaries.ts';

/** Options of {@link createWebUi}. */
export interface WebUiOptions {
  /** The registry to show. */
  registry: Registry;
  /** The registry's authorization hook: the page shows a caller only what the hook lets them pull. @default open */
  authorize?: Authorize;
  /** The mirror's cache budget in bytes, shown against its use. */
  cacheMaxBytes?: number;
  /** Time between mirror samples for the charts. @default 10 s */
  sampleIntervalMs?: number;
  /** Mirror samples kept (the charts' time span is interval × capacity). @default 360 */
  sampleCapacity?: number;
  /** The Basic realm of `/ui/login`. @default "marina" */
  realm?: string;
  /** Where unexpected errors are logged. */
  logger?: Logger;
}

/** Shared by the page and API handlers. */
export interface UiContext {
  options: WebUiOptions;
  registry: Registry;
  summaries: RepositorySummaries;
  storage: StorageReports;
  samples?: MirrorSamples;
}

/** Builds the UI's state. */
export function uiContext(options: WebUiOptions): UiContext {
  const { registry } = options;
  const summaries = new RepositorySummaries(registry.storage.index);
  return {
    options,
    registry,
    summaries,
    storage: new StorageReports(registry, summaries),
    samples: registry.mirror ? new MirrorSamples(registry.mirror, options.sampleIntervalMs, options.sampleCapacity) : undefined,
  };
}
