/**
 * Access checks plus data for each view, shared by the HTML pages and the JSON API so both show the same thing to
 * the same caller. Refusals are RegistryErrors (DENIED, NAME_UNKNOWN…) that each side renders its own way.
 */
import { RegistryError } from '../errors.ts';
import { isRepositoryName } from '../oci/names.ts';
import type { UiCaller } from './access.ts';
import type { UiContext } from './context.ts';
import type { Digest } from '../oci/digest.ts';
import { imageFacts } from './image-facts.ts';
import { readMirror, type CachedImageView } from './mirror-reader.ts';
import type { MirrorPageData } from './ops-pages.ts';
import { manifestView, pageQuery, repositoryPage, tagPage, type ManifestView, type RepositoryPage, type TagPage } from './queries.ts';
import type { StorageResult, StorageState } from './storage-report.ts';

/** Repositories per page of the list: default and largest. */
export const REPOSITORY_PAGE = { size: 50, max: 200 } as const;
/** Tags per page of a repository: default and largest. */
export const TAG_PAGE = { size: 100, max: 500 } as const;
/** Rows of the storage report shown. */
export const STORAGE_ROWS = 100;

function denied(caller: UiCaller, what: string): RegistryError {
  return new RegistryError('DENIED', `${caller.identity?.subject ?? 'you'} may not ${what}`);
}

/** The repository list, when the caller may list (catalog). */
export async function loadRepositories(ctx: UiContext, caller: UiCaller, params: URLSearchParams): Promise<RepositoryPage> {
  if (!(await caller.mayCatalog())) throw denied(caller, 'list repositories');
  return repositoryPage(ctx.registry.storage.index, ctx.summaries, caller, pageQuery(params, REPOSITORY_PAGE.size, REPOSITORY_PAGE.max));
}

/** Checks a repository name and the caller's pull right on it; unknown and forbidden look alike to a stranger. */
export async function checkRepository(ctx: UiContext, caller: UiCaller, name: string): Promise<void> {
  if (!isRepositoryName(name)) throw new RegistryError('NAME_INVALID', `invalid repository name: ${name.slice(0, 200)}`);
  if (!(await caller.mayPull(name))) throw denied(caller, `pull ${name}`);
  if (!(await ctx.registry.storage.index.hasRepository(name))) throw new RegistryError('NAME_UNKNOWN', undefined, { detail: { name } });
}

/** A page of a repository's tags. */
export async function loadTags(ctx: UiContext, caller: UiCaller, name: string, params: URLSearchParams): Promise<TagPage> {
  await checkRepository(ctx, caller, name);
  return tagPage(ctx.registry.storage.index, name, pageQuery(params, TAG_PAGE.size, TAG_PAGE.max));
}

/** A manifest or index by tag or digest. */
export async function loadManifest(ctx: UiContext, caller: UiCaller, name: string, reference: string): Promise<ManifestView> {
  await checkRepository(ctx, caller, name);
  return manifestView(ctx.registry.storage.index, name, reference);
}

/** The mirror's numbers; the image lists hold only repositories the caller may pull. */
export async function loadMirror(ctx: UiContext, caller: UiCaller): Promise<MirrorPageData> {
  if (!ctx.registry.mirror) throw new RegistryError('UNSUPPORTED', 'no mirror is configured', { status: 404 });
  if (!(await caller.mayCatalog())) throw denied(caller, 'see registry-wide statistics');
  await ctx.samples?.take();
  const reading = await readMirror(ctx.registry.mirror, true);
  const visible = await visibleSet(caller, [...(reading.images ?? []), ...(reading.evictionOrder ?? [])].map((i) => i.repository));
  const index = ctx.registry.storage.index;
  // The ledger's image size is the manifest's; the page shows the image's content (manifest, config, layers).
  const sized = async (images: CachedImageView[] | undefined, limit: number) => {
    if (!images) return undefined;
    const out: CachedImageView[] = [];
    for (const i of images.filter((i) => visible.has(i.repository)).slice(0, limit)) {
      out.push({ ...i, size: (await imageFacts(index, i.repository, i.digest as Digest, NO_LINKS))?.size ?? i.size });
    }
    return out;
  };
  return {
    reading,
    samples: ctx.samples?.all() ?? [],
    budget: ctx.options.cacheMaxBytes,
    visibleImages: await sized(reading.images, MAX_SIZED_IMAGES),
    visibleEviction: await sized(reading.evictionOrder, Number.MAX_SAFE_INTEGER),
  };
}

/** Cached images whose content size is read for the mirror page (one manifest read and parse each). */
export const MAX_SIZED_IMAGES = 5000;
const NO_LINKS = new Map<string, number>();

/** The storage report as the caller may see it (only repositories they may pull are named). */
export async function loadStorage(ctx: UiContext, caller: UiCaller): Promise<{ state: StorageState; result?: StorageResult }> {
  if (!(await caller.mayCatalog())) throw denied(caller, 'see registry-wide statistics');
  const state = ctx.storage.current();
  if (!state.result) return { state };
  const rows: StorageResult['repositories'] = [];
  for (const r of state.result.repositories) {
    if (rows.length === STORAGE_ROWS) break;
    if (await caller.mayList(r.name)) rows.push(r);
  }
  return { state: { running: state.running }, result: { ...state.result, repositories: rows } };
}

/** Starts a storage report run for a caller who may see it. */
export async function startStorage(ctx: UiContext, caller: UiCaller): Promise<boolean> {
  if (!(await caller.mayCatalog())) throw denied(caller, 'see registry-wide statistics');
  return ctx.storage.start();
}

async function visibleSet(caller: UiCaller, names: string[]): Promise<Set<string>> {
  const unique = [...new Set(names)];
  const verdicts = await Promise.all(unique.map((n) => caller.mayList(n)));
  return new Set(unique.filter((_, i) => verdicts[i]));
}
