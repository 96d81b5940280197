/** Lifecycle settings of the server config, converted to the library's form (milliseconds, bytes, compiled globs). */
import { compileGlob } from '../oci/repository-glob.ts';
import type { QuotaRule, RetentionRule } from '../lifecycle/rules.ts';
import { parseDuration, parseSize, type ServeConfig } from './config.ts';

/** The registry's `retention` and `quotas` options; globs are compiled here so a bad one fails at startup. */
export function lifecycleOptions(config: ServeConfig): { retention: RetentionRule[]; quotas: QuotaRule[] } {
  const retention = (config.retention ?? []).map((r, i) => {
    checkGlobs(`retention[${i}]`, [r.repositories, ...(r.keepTags ?? [])]);
    const rule: RetentionRule = { repositories: r.repositories };
    if (r.keepNewest !== undefined) rule.keepNewest = r.keepNewest;
    if (r.keepTags) rule.keepTags = r.keepTags;
    if (r.deleteTagsOlderThan !== undefined) rule.deleteTagsOlderThanMs = parseDuration(r.deleteTagsOlderThan);
    if (r.deleteUntaggedOlderThan !== undefined) rule.deleteUntaggedOlderThanMs = parseDuration(r.deleteUntaggedOlderThan);
    return rule;
  });
  const quotas = (config.quotas ?? []).map((q, i) => {
    checkGlobs(`quotas[${i}]`, [q.repositories]);
    return { repositories: q.repositories, maxBytes: typeof q.maxSize === 'number' ? q.maxSize : parseSize(q.maxSize) };
  });
  return { retention, quotas };
}

/** A schedule setting in milliseconds, or undefined when unset or `off`. */
export function scheduleMs(value: string | undefined): number | undefined {
  if (value === undefined || value === 'off') return undefined;
  const ms = parseDuration(value);
  if (ms < 1000) throw new Error(`a schedule interval must be at least 1s, got "${value}"`);
  return ms;
}

function checkGlobs(where: string, globs: string[]): void {
  for (const glob of globs) {
    try {
      compileGlob(glob);
    } catch (error) {
      throw new Error(`invalid configuration: ${where}: ${(error as Error).message}`);
    }
  }
}
