/**
 * Retention planning for one repository: which tags go, and which manifests are then left unreachable.
 *
 * A tag is kept when it matches `keepTags`, is among the `keepNewest` newest of the others, or is younger than
 * `deleteTagsOlderThanMs`; a rule with neither `keepNewest` nor `deleteTagsOlderThanMs` deletes no tag.
 * A manifest is kept when it is reachable from a root: the manifest of a kept tag, or a top-level untagged
 * manifest (no tag, no parent index, no stored subject) not yet expired by `deleteUntaggedOlderThanMs` or
 * pushed within the grace period. Reachability follows index children and referrers (a signature or SBOM
 * follows its subject). Every other manifest goes, so deleting a tag also removes its image.
 */
import type { Digest } from '../oci/digest.ts';
import { parseManifest } from '../oci/manifest.ts';
import { allTags } from '../storage/index-pages.ts';
import type { MetadataIndex } from '../storage/types.ts';
import type { PushTimes } from './push-times.ts';
import { tagMatcher, type RetentionRule } from './rules.ts';

/** One tag or manifest retention removes. */
export interface RetentionItem {
  repository: string;
  kind: 'tag' | 'manifest';
  /** The tag, or the manifest digest. */
  reference: string;
  digest: Digest;
  /** When it was pushed (ms since the epoch). */
  pushedAt: number;
  /** Why it goes. */
  reason: string;
}

/** The plan for one repository. */
export interface RepositoryPlan {
  repository: string;
  tags: RetentionItem[];
  /** Manifests in deletion order: indexes and referrers before what they point at. */
  manifests: RetentionItem[];
  keptTags: number;
  keptManifests: number;
}

interface ManifestInfo {
  children: Digest[];
  subject?: Digest;
  isIndex: boolean;
}

/** Plans retention of `repository` under `rule` at time `now`. Reads only. */
export async function planRepository(index: MetadataIndex, times: PushTimes, repository: string, rule: RetentionRule, now: number, graceMs: number): Promise<RepositoryPlan> {
  const tags: { tag: string; digest: Digest; at: number }[] = [];
  for await (const tag of allTags(index, repository)) {
    const digest = await index.resolveTag(repository, tag);
    if (digest) tags.push({ tag, digest, at: times.tagTime(repository, tag, digest) });
  }
  const protectedTag = tagMatcher(rule.keepTags);
  const decidesTags = rule.keepNewest !== undefined || rule.deleteTagsOlderThanMs !== undefined;
  // Tags kept by pattern take no place among the newest N.
  const newest = new Set(
    tags
      .filter((t) => !protectedTag(t.tag))
      .sort((a, b) => b.at - a.at || (a.tag < b.tag ? -1 : 1))
      .slice(0, rule.keepNewest ?? 0)
      .map((t) => t.tag),
  );
  // Without an age limit, age keeps no tag (only the count and the patterns do).
  const tagCutoff = rule.deleteTagsOlderThanMs === undefined ? Infinity : now - rule.deleteTagsOlderThanMs;
  const plan: RepositoryPlan = { repository, tags: [], manifests: [], keptTags: 0, keptManifests: 0 };
  const roots: Digest[] = [];
  for (const t of tags) {
    const keep = !decidesTags || protectedTag(t.tag) || newest.has(t.tag) || t.at >= tagCutoff;
    if (keep) {
      plan.keptTags++;
      roots.push(t.digest);
      continue;
    }
    const reason = [rule.keepNewest !== undefined ? `not among the newest ${rule.keepNewest}` : '', rule.deleteTagsOlderThanMs !== undefined ? `older than ${formatDuration(rule.deleteTagsOlderThanMs)}` : '']
      .filter(Boolean)
      .join(', ');
    plan.tags.push({ repository, kind: 'tag', reference: t.tag, digest: t.digest, pushedAt: t.at, reason });
  }

  const manifests = new Map<Digest, ManifestInfo>();
  for (const digest of await index.listManifestDigests(repository)) {
    const record = await index.getManifest(repository, digest);
    if (!record) continue;
    try {
      const parsed = parseManifest(record.body, record.mediaType);
      manifests.set(digest, { children: parsed.manifests, subject: record.subject, isIndex: parsed.manifests.length > 0 });
    } catch {
      // A manifest that no longer parses cannot be judged safely: it and what it may point at stay.
      return { ...plan, tags: [], manifests: [], keptTags: tags.length, keptManifests: manifests.size };
    }
  }
  const tagged = new Set(tags.map((t) => t.digest));
  const children = new Set<Digest>();
  const referrers = new Map<Digest, Digest[]>();
  for (const [digest, info] of manifests) {
    for (const child of info.children) children.add(child);
    if (info.subject && manifests.has(info.subject)) referrers.set(info.subject, [...(referrers.get(info.subject) ?? []), digest]);
  }
  const untaggedCutoff = now - Math.max(graceMs, rule.deleteUntaggedOlderThanMs ?? Infinity);
  for (const digest of manifests.keys()) {
    const info = manifests.get(digest)!;
    const topLevel = !tagged.has(digest) && !children.has(digest) && !(info.subject && manifests.has(info.subject));
    if (topLevel && !(times.manifestTime(repository, digest) < untaggedCutoff)) roots.push(digest);
  }

  const live = new Set<Digest>();
  const stack = [...roots];
  while (stack.length) {
    const digest = stack.pop()!;
    if (live.has(digest)) continue;
    live.add(digest);
    stack.push(...(manifests.get(digest)?.children ?? []), ...(referrers.get(digest) ?? []));
  }
  const doomed = [...manifests.keys()].filter((d) => !live.has(d));
  // Parents before children and referrers before subjects: nothing left behind points at a deleted manifest.
  const depth = (d: Digest): number => (manifests.get(d)!.subject ? 0 : manifests.get(d)!.isIndex ? 1 : 2);
  doomed.sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : 1));
  for (const digest of doomed) {
    const reason = tagged.has(digest) ? 'its tags are deleted' : children.has(digest) || manifests.get(digest)!.subject ? 'follows a deleted parent or subject' : `untagged, older than ${formatDuration(rule.deleteUntaggedOlderThanMs ?? 0)}`;
    plan.manifests.push({ repository, kind: 'manifest', reference: digest, digest, pushedAt: times.manifestTime(repository, digest), reason });
  }
  plan.keptManifests = manifests.size - doomed.length;
  return plan;
}

/** A duration as the config writes it: 3d, 12h, 15m, 90s, 250ms. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
