/**
 * The data behind the registry pages, as plain JSON-able objects: the HTML pages render them and `/ui/api/`
 * returns them as they are. Every listing walks the index's ordered keys from a cursor (`last`) and stops after a
 * page, so a request costs the same with 10 or 10,000 repositories; searches scan names in order, bounded by
 * {@link MAX_SCAN} per request, and hand back a cursor to continue.
 */
import { RegistryError } from '../errors.ts';
import { tryParseDigest, type Digest } from '../oci/digest.ts';
import { isRepositoryName, isTag } from '../oci/names.ts';
import type { MaybePromise, MetadataIndex } from '../storage/types.ts';
import type { UiCaller } from './access.ts';
import { imageFacts, linkTimes, readBody, type DescriptorView, type ImageFacts } from './image-facts.ts';
import type { RepositorySummaries, RepositorySummary } from './summaries.ts';

/**
 * Names looked at per request while searching; past this a short page is returned with a cursor, always a name the
 * caller may see (a caller who may see none of the names looked at scans on).
 */
export const MAX_SCAN = 50_000;
/** Referrers shown per manifest page, across the whole tree. */
export const MAX_REFERRERS = 200;
/** Depth of the referrers tree (a signature of an SBOM of an image is depth 2). */
export const MAX_REFERRER_DEPTH = 4;

/** A page request as the client sent it (already bounded by {@link pageQuery}). */
export interface PageRequest {
  /** Substring to look for (repositories) or prefix-free substring (tags), lower-cased. */
  q?: string;
  last?: string;
  n: number;
}

/** Reads `q`, `last` and `n` with bounds: `n` in 1..max (default `fallback`), `q` at most 128 characters. */
export function pageQuery(params: URLSearchParams, fallback: number, max: number): PageRequest {
  const n = Number(params.get('n') ?? fallback);
  const q = (params.get('q') ?? '').trim().toLowerCase().slice(0, 128);
  const last = params.get('last') ?? undefined;
  if (last !== undefined && last.length > 300) throw new RegistryError('UNSUPPORTED', 'query parameter last is too long', { status: 400 });
  return { q: q || undefined, last, n: Number.isInteger(n) && n >= 1 ? Math.min(n, max) : fallback };
}

/** A page of the repository list. */
export interface RepositoryPage {
  items: RepositorySummary[];
  /** `last` of the next page, when there may be more. */
  next?: string;
  /** Names looked at to build this page. */
  scanned: number;
}

/** Repositories visible to the caller, in name order, filtered by `q`, with their summaries. */
export async function repositoryPage(index: MetadataIndex, summaries: RepositorySummaries, caller: UiCaller, page: PageRequest): Promise<RepositoryPage> {
  if (page.last !== undefined && !isRepositoryName(page.last)) throw new RegistryError('NAME_INVALID', 'query parameter last is not a repository name', { status: 400 });
  const names = await scan(page, (last, limit) => index.listRepositories({ last, limit }), caller.mayList);
  const items: RepositorySummary[] = [];
  for (const name of names.items) items.push(await summaries.get(name));
  return { items, next: names.next, scanned: names.scanned };
}

/** One tag of a repository page. */
export interface TagRow extends Partial<ImageFacts> {
  tag: string;
  digest: string;
}

/** A page of a repository's tags. */
export interface TagPage {
  repository: string;
  items: TagRow[];
  next?: string;
  scanned: number;
  /** What the push times mean (the index keeps none of its own). */
  pushTimeNote: string;
}

export const PUSH_TIME_NOTE = 'The index records no manifest push time; shown is when the newest blob of the image was linked into the repository (a re-tag of existing content does not change it).';

/** Tags of `repository` in lexical order, with digest, media type, size, platforms and push time. */
export async function tagPage(index: MetadataIndex, repository: string, page: PageRequest): Promise<TagPage> {
  if (page.last !== undefined && !isTag(page.last)) throw new RegistryError('NAME_INVALID', 'query parameter last is not a tag', { status: 400 });
  const tags = await scan(page, (last, limit) => index.listTags(repository, { last, limit }));
  const links = await linkTimes(index, repository);
  const items: TagRow[] = [];
  for (const tag of tags.items) {
    const digest = await index.resolveTag(repository, tag);
    items.push(digest ? { tag, ...(await imageFacts(index, repository, digest, links)), digest } : { tag, digest: '' });
  }
  return { repository, items, next: tags.next, scanned: tags.scanned, pushTimeNote: PUSH_TIME_NOTE };
}

/** Walks names in order from `page.last`, keeping those matching `q` and `keep`, until a page is full or the scan bound. */
async function scan(
  page: PageRequest,
  list: (last: string | undefined, limit: number) => MaybePromise<{ items: string[]; more: boolean }>,
  keep?: (name: string) => Promise<boolean>,
): Promise<{ items: string[]; next?: string; scanned: number }> {
  const items: string[] = [];
  let last = page.last;
  let scanned = 0;
  const chunk = page.q || keep ? Math.max(page.n, 500) : page.n;
  for (;;) {
    const batch = await list(last, chunk);
    for (const name of batch.items) {
      scanned++;
      last = name;
      if (page.q && !name.toLowerCase().includes(page.q)) continue;
      if (keep && !(await keep(name))) continue;
      items.push(name);
      if (items.length === page.n) {
        const more = batch.more || name !== batch.items.at(-1);
        return { items, next: more ? name : undefined, scanned };
      }
    }
    if (!batch.more) return { items, scanned };
    if (scanned >= MAX_SCAN) {
      // The cursor is handed to the caller: never a name they may not see. Without one to give, the scan goes on.
      if (!keep || (last !== undefined && (await keep(last)))) return { items, next: last, scanned };
      if (items.length > 0) return { items, next: items.at(-1), scanned };
    }
  }
}

/** A node of the referrers tree. */
export interface ReferrerNode {
  digest: string;
  mediaType: string;
  artifactType?: string;
  size: number;
  annotations?: Record<string, string>;
  referrers: ReferrerNode[];
}

/** Everything the manifest page shows. */
export interface ManifestView extends ImageFacts {
  repository: string;
  /** The tag the page was opened with, if any. */
  tag?: string;
  isIndex: boolean;
  config?: DescriptorView;
  layers: DescriptorView[];
  /** Index entries, with whether each is stored in this repository. */
  manifests: (DescriptorView & { present: boolean })[];
  subject?: DescriptorView & { present: boolean };
  annotations: Record<string, string>;
  referrers: ReferrerNode[];
  /** True when the tree was cut at {@link MAX_REFERRERS} nodes or {@link MAX_REFERRER_DEPTH} levels. */
  referrersTruncated: boolean;
}

/** The manifest `reference` (tag or digest) of `repository`. @throws MANIFEST_UNKNOWN, NAME_INVALID */
export async function manifestView(index: MetadataIndex, repository: string, reference: string): Promise<ManifestView> {
  const digest = reference.includes(':') ? tryParseDigest(reference) : isTag(reference) ? await index.resolveTag(repository, reference) : undefined;
  const record = digest && (await index.getManifest(repository, digest));
  if (!digest || !record) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { detail: { reference: reference.slice(0, 200) } });
  const facts = (await imageFacts(index, repository, digest, await linkTimes(index, repository)))!;
  const stored = async (d: string) => (await index.getManifest(repository, d as Digest)) !== undefined;
  const body = readBody(record);
  const budget = { left: MAX_REFERRERS, truncated: false };
  const view: ManifestView = {
    ...facts,
    repository,
    isIndex: (body?.manifests.length ?? 0) > 0 || facts.platforms !== undefined,
    layers: body?.layers ?? [],
    manifests: await Promise.all((body?.manifests ?? []).map(async (m) => ({ ...m, present: await stored(m.digest) }))),
    annotations: body?.annotations ?? {},
    referrers: await referrerTree(index, repository, digest, 1, budget),
    referrersTruncated: false,
  };
  view.referrersTruncated = budget.truncated;
  if (!reference.includes(':')) view.tag = reference;
  if (body?.config) view.config = body.config;
  if (body?.subject) view.subject = { ...body.subject, present: await stored(body.subject.digest) };
  return view;
}

async function referrerTree(index: MetadataIndex, repository: string, subject: Digest, depth: number, budget: { left: number; truncated: boolean }): Promise<ReferrerNode[]> {
  const nodes: ReferrerNode[] = [];
  for (const r of await index.listReferrers(repository, subject)) {
    if (budget.left <= 0) {
      budget.truncated = true;
      break;
    }
    budget.left--;
    const node: ReferrerNode = { digest: r.digest, mediaType: r.mediaType, size: r.size, referrers: [] };
    if (r.artifactType) node.artifactType = r.artifactType;
    if (r.annotations) node.annotations = r.annotations;
    if (depth < MAX_REFERRER_DEPTH) node.referrers = await referrerTree(index, repository, r.digest, depth + 1, budget);
    else if ((await index.listReferrers(repository, r.digest)).length) budget.truncated = true;
    nodes.push(node);
  }
  return nodes;
}
