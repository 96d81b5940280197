/** Paginated listings: tags of a repository and the catalog of repositories. */
import { RegistryError } from '../errors.ts';
import { isRepositoryName, isTag } from '../oci/names.ts';
import type { CoreContext } from './context.ts';

/** Pagination parameters as the client sent them. */
export interface PageQuery {
  /** `n`: page size; absent means "everything" (the spec has no default page size). */
  n?: number;
  /** `last`: list names strictly after this one. */
  last?: string;
}

/** One page of a listing. */
export interface Listing {
  items: string[];
  /** The `last` of the next page, when there is one. */
  next?: string;
}

/** Tags of a repository in lexical order. @throws NAME_UNKNOWN for a repository that holds nothing. */
export async function listTags(ctx: CoreContext, repository: string, query: PageQuery): Promise<Listing> {
  checkLastTag(query);
  if (!(await ctx.index.hasRepository(repository))) throw new RegistryError('NAME_UNKNOWN', undefined, { detail: { name: repository } });
  return toListing(await ctx.index.listTags(repository, { last: query.last, limit: limitOf(ctx, query) }));
}

/** A page of tags already in lexical order (a mirror's upstream list), by the same rules as {@link listTags}. */
export function pageTags(ctx: CoreContext, tags: string[], query: PageQuery): Listing {
  checkLastTag(query);
  const after = query.last === undefined ? tags : tags.filter((t) => t > query.last!);
  const limit = limitOf(ctx, query);
  return toListing({ items: after.slice(0, limit), more: after.length > limit });
}

function checkLastTag(query: PageQuery): void {
  if (query.last !== undefined && !isTag(query.last)) throw badQuery('last', 'is not a valid tag');
}

/** Repositories in lexical order (`GET /v2/_catalog`). */
export async function listRepositories(ctx: CoreContext, query: PageQuery): Promise<Listing> {
  if (query.last !== undefined && !isRepositoryName(query.last)) throw badQuery('last', 'is not a valid repository name');
  return toListing(await ctx.index.listRepositories({ last: query.last, limit: limitOf(ctx, query) }));
}

function limitOf(ctx: CoreContext, query: PageQuery): number {
  if (query.n === undefined) return Number.MAX_SAFE_INTEGER;
  return Math.min(query.n, ctx.settings.maxPageSize);
}

function toListing(page: { items: string[]; more: boolean }): Listing {
  const last = page.items.at(-1);
  return page.more && last !== undefined ? { items: page.items, next: last } : { items: page.items };
}

/** Shared 400 for a bad query parameter. */
export function badQuery(name: string, reason: string): RegistryError {
  // The spec has no code for a bad query parameter; its listings fail as the named thing would.
  return new RegistryError(name === 'last' ? 'NAME_INVALID' : 'UNSUPPORTED', `query parameter ${name} ${reason}`, {
    status: 400,
    detail: { parameter: name },
  });
}
