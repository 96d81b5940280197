/**
 * The lifecycle state of one registry: push times, quota counters and the manifest hooks that keep them, plus
 * retention runs over the configured rules.
 */
import type { CoreContext, ManifestHooks } from '../core/context.ts';
import { PushTimes } from './push-times.ts';
import { Quotas, type RepositoryUsage } from './quota.ts';
import { runRetention, type RetentionOptions, type RetentionReport } from './retention.ts';
import type { QuotaRule, RetentionRule } from './rules.ts';

/** Lifecycle settings of {@link createRegistry}. */
export interface LifecycleOptions {
  /** Retention rules, first matching repository glob wins. @default none */
  retention?: RetentionRule[];
  /** Quotas, first matching repository glob wins. @default none */
  quotas?: QuotaRule[];
  /** The clock push times are read from (tests inject a simulated one). @default Date.now */
  clock?: () => number;
}

/** What the registry tells the lifecycle beyond the options. */
export interface LifecycleEnvironment {
  /** Bookkeeping file (`:memory:` for storage without a directory). */
  file: string;
  /** Repositories retention leaves alone (the mirror's cache, which its own eviction manages). */
  exempt?(repository: string): boolean;
}

/** Push-time bookkeeping, quotas and retention for one registry. */
export class Lifecycle {
  readonly times: PushTimes;
  readonly quotas: Quotas;
  private readonly generations = new Map<string, number>();
  readonly hooks: ManifestHooks;

  constructor(
    private readonly ctx: CoreContext,
    private readonly options: LifecycleOptions,
    private readonly env: LifecycleEnvironment,
  ) {
    this.times = new PushTimes(env.file, options.clock ?? Date.now);
    this.quotas = new Quotas(ctx, options.quotas ?? []);
    this.hooks = {
      beforeCommit: (repository, record, blobs) => this.quotas.check(repository, record, blobs),
      afterCommit: (repository, record, tags, blobs) => {
        this.generations.set(repository, (this.generations.get(repository) ?? 0) + 1);
        this.quotas.added(repository, record, blobs);
        // The push is committed: a bookkeeping failure (full disk) is logged, never turned into a failed push.
        this.bookkeeping(() => this.times.pushed(repository, record.digest, tags));
      },
      afterDelete: (repository, kind, reference, record) => {
        if (kind === 'manifest' && record) this.quotas.deleted(repository, record);
        this.bookkeeping(() => this.times.deleted(repository, kind, reference, record?.digest));
      },
    };
  }

  private bookkeeping(write: () => void): void {
    try {
      write();
    } catch (error) {
      this.ctx.onListenerError(error);
    }
  }

  /** Runs the retention rules (or `rules`, when given) once. */
  runRetention(options: RetentionOptions & { rules?: RetentionRule[] } = {}): Promise<RetentionReport> {
    const state = { times: this.times, generation: (repository: string) => this.generations.get(repository) ?? 0, exempt: this.env.exempt };
    return runRetention(this.ctx, state, options.rules ?? this.options.retention ?? [], options);
  }

  /** Storage used by one repository, with its quota. */
  usage(repository: string): Promise<RepositoryUsage> {
    return this.quotas.usage(repository);
  }

  close(): void {
    this.times.close();
  }
}
