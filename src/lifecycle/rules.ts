/**
 * Lifecycle rules as the library takes them (durations in milliseconds, sizes in bytes), and how a repository finds
 * its rule: rules are tried in order and the first whose repository glob matches wins. Globs are the access rules'
 * linear matcher (`*` within a path segment, `**` across segments).
 */
import { compileGlob, type Glob } from '../oci/repository-glob.ts';

/** Which tags and manifests of matching repositories retention removes. */
export interface RetentionRule {
  /** Repository glob, e.g. `ci/**`. */
  repositories: string;
  /** Keep the newest N tags (by the time each tag was last pushed). */
  keepNewest?: number;
  /** Keep tags matching any of these globs, e.g. `v*`, `main`, `latest`. */
  keepTags?: string[];
  /** Delete tags last pushed longer ago than this (unless kept by `keepNewest` or `keepTags`). */
  deleteTagsOlderThanMs?: number;
  /** Delete manifests that no tag names (and no kept manifest references) pushed longer ago than this. */
  deleteUntaggedOlderThanMs?: number;
}

/** A storage budget for matching repositories. */
export interface QuotaRule {
  /** Repository glob. */
  repositories: string;
  /** Bytes of unique blobs the repository's manifests may reference. */
  maxBytes: number;
}

/** Rules compiled once, with the first-match lookup. */
export class RuleSet<R extends { repositories: string }> {
  private readonly compiled: { glob: Glob; rule: R }[];

  constructor(rules: readonly R[]) {
    this.compiled = rules.map((rule) => ({ glob: compileGlob(rule.repositories), rule }));
  }

  /** The first rule whose glob matches `repository`. */
  match(repository: string): R | undefined {
    return this.compiled.find((c) => c.glob.matches(repository))?.rule;
  }

  get size(): number {
    return this.compiled.length;
  }
}

/** Tag patterns of a retention rule, compiled. */
export function tagMatcher(patterns: readonly string[] = []): (tag: string) => boolean {
  const globs = patterns.map((p) => compileGlob(p));
  return (tag) => globs.some((g) => g.matches(tag));
}
