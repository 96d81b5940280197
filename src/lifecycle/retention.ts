/**
 * Retention runs: plan every repository that has a rule, then delete through core's delete operation (so delete
 * events fire and hooks update quotas and push times). Each deletion holds the repository's manifest lock and
 * re-checks the plan: a tag is deleted only while it still names the planned digest, a manifest only while no
 * tag names it and no manifest push landed in the repository since the plan was made (otherwise the repository
 * is planned again). So a push acknowledged while retention runs is never undone by it.
 */
import { manifestLockKey, type CoreContext } from '../core/context.ts';
import { deleteManifest } from '../core/manifests.ts';
import { isRegistryError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import { allRepositories } from '../storage/index-pages.ts';
import type { PushTimes } from './push-times.ts';
import { blobsOf } from './quota.ts';
import { planRepository, type RepositoryPlan, type RetentionItem } from './retention-plan.ts';
import { RuleSet, type RetentionRule } from './rules.ts';

/** Options of a retention run. */
export interface RetentionOptions {
  /** Report what would go; delete nothing. @default false */
  dryRun?: boolean;
  /** Untagged manifests younger than this always stay (an index's children arrive before the index). @default 10 min */
  graceMs?: number;
  /** Hears one line per repository and per deletion. */
  onProgress?(message: string): void;
}

/** What a run removed (or would remove). */
export interface RetentionReport {
  dryRun: boolean;
  repositories: number;
  /** Tags and manifests removed, in the order they went. */
  items: RetentionItem[];
  tags: number;
  manifests: number;
  /** Bytes of blobs no remaining manifest in any repository references: what `gc` will free. */
  freedBytes: number;
  freedBlobs: number;
}

/** What retention needs beyond the core context. */
export interface RetentionState {
  times: PushTimes;
  /** Manifest commits per repository in this process, to notice pushes landing during a run. */
  generation(repository: string): number;
  /** Repositories no rule applies to, whatever the globs say. */
  exempt?(repository: string): boolean;
}

const MAX_REPLANS = 5;

/** Runs retention `rules` over every repository. */
export async function runRetention(ctx: CoreContext, state: RetentionState, rules: readonly RetentionRule[], options: RetentionOptions = {}): Promise<RetentionReport> {
  const ruleSet = new RuleSet(rules);
  const dryRun = options.dryRun ?? false;
  const graceMs = options.graceMs ?? 10 * 60 * 1000;
  const progress = options.onProgress ?? (() => {});
  const report: RetentionReport = { dryRun, repositories: 0, items: [], tags: 0, manifests: 0, freedBytes: 0, freedBlobs: 0 };
  const removed = new Map<string, Set<Digest>>();
  const candidates = new Map<Digest, number>();

  for await (const repository of allRepositories(ctx.index)) {
    const rule = state.exempt?.(repository) ? undefined : ruleSet.match(repository);
    if (!rule) continue;
    report.repositories++;
    const done = new Set<string>();
    for (let attempt = 0; ; attempt++) {
      const generation = state.generation(repository);
      const plan = await planRepository(ctx.index, state.times, repository, rule, state.times.now(), graceMs);
      if (attempt === 0) progress(`${repository}: ${plan.tags.length} of ${plan.tags.length + plan.keptTags} tags and ${plan.manifests.length} of ${plan.manifests.length + plan.keptManifests} manifests ${dryRun ? 'would go' : 'go'} (rule "${rule.repositories}")`);
      const items = [...plan.tags, ...plan.manifests].filter((item) => !done.has(key(item)));
      // Read before deleting: afterwards the records are gone.
      const blobsByManifest = new Map<Digest, ReturnType<typeof blobsOf>>();
      for (const m of plan.manifests) blobsByManifest.set(m.digest, blobsOf(await ctx.index.getManifest(repository, m.digest)));
      const complete = dryRun ? true : await execute(ctx, state, plan, items, generation, done);
      for (const item of items) {
        if (!dryRun && !done.has(key(item))) continue;
        record(report, item, removed, progress, dryRun);
        for (const blob of blobsByManifest.get(item.digest) ?? []) if (item.kind === 'manifest') candidates.set(blob.digest, blob.size);
      }
      if (complete) break;
      if (attempt >= MAX_REPLANS) {
        progress(`${repository}: pushes kept landing; stopped after ${attempt + 1} plans, the rest waits for the next run`);
        break;
      }
      progress(`${repository}: a push landed during the run; planning again`);
    }
  }
  const freed = await freedBlobs(ctx, removed, candidates);
  report.freedBlobs = freed.count;
  report.freedBytes = freed.bytes;
  return report;
}

function key(item: RetentionItem): string {
  return `${item.kind}:${item.reference}`;
}

function record(report: RetentionReport, item: RetentionItem, removed: Map<string, Set<Digest>>, progress: (m: string) => void, dryRun: boolean): void {
  report.items.push(item);
  if (item.kind === 'tag') report.tags++;
  else {
    report.manifests++;
    let set = removed.get(item.repository);
    if (!set) removed.set(item.repository, (set = new Set()));
    set.add(item.digest);
  }
  progress(`${dryRun ? 'would delete' : 'deleted'} ${item.kind} ${item.repository}${item.kind === 'tag' ? ':' : '@'}${item.reference} (${item.reason})`);
}

/** Deletes the planned items; false when a push landed since planning (the caller plans again). */
async function execute(ctx: CoreContext, state: RetentionState, plan: RepositoryPlan, items: RetentionItem[], generation: number, done: Set<string>): Promise<boolean> {
  const { repository } = plan;
  for (const item of items) {
    const outcome = await ctx.locks.run(manifestLockKey(repository), async () => {
      if (state.generation(repository) !== generation) return 'replan';
      if (item.kind === 'tag' && (await ctx.index.resolveTag(repository, item.reference)) !== item.digest) return 'skip';
      // A manifest needs no re-check of its own: every tag that named it at planning time was doomed (a kept tag
      // would have kept it), and any tag or index pointing at it since came with a push, which bumps the generation.
      try {
        await deleteManifest(ctx, repository, item.reference);
        return 'deleted';
      } catch (error) {
        // Someone else deleted it first: nothing left to do.
        if (isRegistryError(error) && (error.code === 'MANIFEST_UNKNOWN' || error.code === 'NAME_UNKNOWN')) return 'skip';
        throw error;
      }
    });
    if (outcome === 'replan') return false;
    if (outcome === 'deleted') done.add(key(item));
  }
  return true;
}

/** Blobs referenced by removed manifests that no remaining manifest of any repository references. */
async function freedBlobs(ctx: CoreContext, removed: Map<string, Set<Digest>>, candidates: Map<Digest, number>): Promise<{ count: number; bytes: number }> {
  if (candidates.size === 0) return { count: 0, bytes: 0 };
  const kept = new Set<Digest>();
  for await (const repository of allRepositories(ctx.index)) {
    const gone = removed.get(repository);
    for (const digest of await ctx.index.listManifestDigests(repository)) {
      const record = await ctx.index.getManifest(repository, digest);
      if (!record) continue;
      if (gone?.has(digest)) continue;
      for (const blob of blobsOf(record)) kept.add(blob.digest);
    }
  }
  let count = 0;
  let bytes = 0;
  for (const [digest, size] of candidates) {
    if (kept.has(digest)) continue;
    count++;
    bytes += size;
  }
  return { count, bytes };
}

