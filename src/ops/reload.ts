/**
 * Live reload: on SIGHUP (or a change of the config file, when watched) the configuration is read again the way
 * startup read it (file, environment, flags — flags still win) and validated whole. A config that fails to read
 * or validate is refused with one error line and the running one stays. Otherwise each changed setting is handed
 * to its applier; a changed setting without one is reported as needing a restart and keeps its running value.
 * Nothing here touches listeners or open uploads: appliers swap values that the next request reads.
 *
 * A setting becomes live with one line: `reloader.live('maxManifestSize', (v) => (registry.settings.maxManifestSize = v))`.
 * State built from files the config names (access rules, htpasswd) is rebuilt on every reload by a `prepare` step,
 * which may fail and so refuse the whole reload before anything changes.
 */
import * as fs from 'node:fs';
import type { Logger } from '../logger.ts';

/** What one reload did. */
export interface ReloadOutcome {
  ok: boolean;
  /** Settings applied live. */
  changed: string[];
  /** Settings that changed in the file but only take effect after a restart. */
  restartNeeded: string[];
  /** Why the new config was refused. */
  error?: string;
}

type Applier<C, K extends keyof C> = (value: C[K], next: C) => void;

/** Builds what a new config needs (may fail: the reload is then refused) and returns how to switch to it. */
export type Preparer<C> = (next: C) => Promise<() => void>;

/** Holds the running config and applies new ones. */
export class ConfigReloader<C extends object> {
  private readonly appliers = new Map<keyof C, Applier<C, any>>();
  private readonly preparers: Preparer<C>[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private watcher: fs.FSWatcher | undefined;
  private debounce: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private running: C,
    private readonly load: () => C,
    private readonly logger: Logger,
  ) {}

  /** The configuration in force. */
  get current(): C {
    return this.running;
  }

  /** Declares how a setting changes while running. */
  live<K extends keyof C>(key: K, apply: Applier<C, K>): this {
    this.appliers.set(key, apply);
    return this;
  }

  /** Adds a step that rebuilds state from the new config before anything is applied. */
  prepare(step: Preparer<C>): this {
    this.preparers.push(step);
    return this;
  }

  /** Reads, validates and applies the config; logs one line saying what happened. Reloads run one at a time. */
  reload(trigger: string): Promise<ReloadOutcome> {
    const run = this.queue.then(() => this.reloadNow(trigger));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(trigger: string): Promise<ReloadOutcome> {
    let next: C;
    const switches: (() => void)[] = [];
    try {
      next = this.load();
      for (const step of this.preparers) switches.push(await step(next));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.error('configuration reload refused; the running configuration stays', { trigger, error: message });
      return { ok: false, changed: [], restartNeeded: [], error: message };
    }
    for (const apply of switches) apply();
    const changed: string[] = [];
    const restartNeeded: string[] = [];
    const failed: string[] = [];
    const applied = { ...this.running };
    for (const key of new Set([...Object.keys(this.running), ...Object.keys(next)]) as Set<keyof C>) {
      if (same(this.running[key], next[key])) continue;
      const apply = this.appliers.get(key);
      if (!apply) {
        restartNeeded.push(String(key));
        continue;
      }
      try {
        apply(next[key], next);
        applied[key] = next[key];
        changed.push(String(key));
      } catch (error) {
        failed.push(`${String(key)}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    this.running = applied;
    const fields: Record<string, unknown> = { trigger, changed };
    if (restartNeeded.length) fields.restartNeeded = restartNeeded;
    if (failed.length) fields.failed = failed;
    if (failed.length) this.logger.error('configuration reloaded in part; some settings were not applied', fields);
    else if (restartNeeded.length) this.logger.warn('configuration reloaded; some changes need a restart', fields);
    else this.logger.info('configuration reloaded', fields);
    return { ok: failed.length === 0, changed, restartNeeded, ...(failed.length ? { error: failed.join('; ') } : {}) };
  }

  /** Reloads when `file` changes (debounced: editors write in several steps). */
  watch(file: string, debounceMs = 300): void {
    this.watcher = fs.watch(file, () => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.reload('config file changed'), debounceMs);
    });
    this.watcher.on('error', (error) => this.logger.warn('config file watch stopped', { file, error: String(error) }));
  }

  /** Stops watching. */
  close(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
  }
}

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
