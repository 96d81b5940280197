/**
 * The storage page's numbers: bytes by repository (every repository's summary) and what `gc` would free (a dry-run
 * collection). Both walk the whole store, so they are computed only when asked (a button), one run at a time, at
 * most once per {@link MIN_INTERVAL_MS}, bounded to {@link MAX_REPOSITORIES}, and the last answer is kept with its time.
 */
import type { Registry } from '../registry.ts';
import type { GcReport } from '../core/gc.ts';
import type { RepositorySummaries, RepositorySummary } from './summaries.ts';

/** Repositories measured per run; past this the report says it is partial. */
export const MAX_REPOSITORIES = 100_000;
/** A new run is not started sooner than this after the last one finished. */
export const MIN_INTERVAL_MS = 10_000;

/** A finished run. */
export interface StorageResult {
  finishedAt: number;
  durationMs: number;
  /** Every measured repository, largest first. */
  repositories: Pick<RepositorySummary, 'name' | 'size' | 'sizePartial' | 'manifests' | 'tags'>[];
  /** True when {@link MAX_REPOSITORIES} stopped the walk. */
  partial: boolean;
  /** Repositories measured, and their bytes summed (before filtering rows by what a caller may see). */
  measured: number;
  measuredBytes: number;
  /** What a `marina gc --dry-run` with the default 1 h grace period reports; undefined when it failed. */
  gc?: GcReport;
  gcError?: string;
}

/** The state the page shows. */
export interface StorageState {
  running?: { startedAt: number };
  result?: StorageResult;
}

/** Runs and remembers storage reports. */
export class StorageReports {
  private state: StorageState = {};
  private run: Promise<void> | undefined;

  constructor(
    private readonly registry: Pick<Registry, 'collectGarbage' | 'listRepositories'>,
    private readonly summaries: RepositorySummaries,
  ) {}

  /** The last result and whether a run is going on. */
  current(): StorageState {
    return this.state;
  }

  /** Starts a run unless one is running or the last one is very recent; returns whether one started. */
  start(): boolean {
    if (this.run) return false;
    const last = this.state.result;
    if (last && Date.now() - last.finishedAt < MIN_INTERVAL_MS) return false;
    this.state = { ...this.state, running: { startedAt: Date.now() } };
    this.run = this.measure().finally(() => (this.run = undefined));
    return true;
  }

  /** Resolves when no run is going on (tests, shutdown). */
  async idle(): Promise<void> {
    await this.run;
  }

  private async measure(): Promise<void> {
    const started = Date.now();
    const repositories: StorageResult['repositories'] = [];
    let last: string | undefined;
    let partial = false;
    for (;;) {
      const page = await this.registry.listRepositories({ n: 1000, last });
      for (const name of page.items) {
        const s = await this.summaries.get(name);
        repositories.push({ name, size: s.size, sizePartial: s.sizePartial, manifests: s.manifests, tags: s.tags });
      }
      if (!page.next) break;
      last = page.next;
      if (repositories.length >= MAX_REPOSITORIES) {
        partial = true;
        break;
      }
      // Let requests in between pages of a long walk.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    repositories.sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1));
    const measuredBytes = repositories.reduce((sum, r) => sum + r.size, 0);
    const result: StorageResult = { finishedAt: 0, durationMs: 0, repositories, partial, measured: repositories.length, measuredBytes };
    try {
      result.gc = await this.registry.collectGarbage({ dryRun: true });
    } catch (error) {
      result.gcError = error instanceof Error ? error.message : String(error);
    }
    result.finishedAt = Date.now();
    result.durationMs = result.finishedAt - started;
    this.state = { result };
  }
}
