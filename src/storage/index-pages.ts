/** Walks the paged listings of a {@link MetadataIndex} whole, a page at a time, for housekeeping (GC, fsck, retention). */
import type { MaybePromise, MetadataIndex, Page } from './types.ts';

const PAGE = 1000;

/** Every repository, in lexical order. */
export function allRepositories(index: MetadataIndex): AsyncGenerator<string> {
  return allPages((last) => index.listRepositories({ last, limit: PAGE }));
}

/** Every tag of a repository, in lexical order. */
export function allTags(index: MetadataIndex, repository: string): AsyncGenerator<string> {
  return allPages((last) => index.listTags(repository, { last, limit: PAGE }));
}

/** Collects an async iterable (a listing small enough to hold). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function* allPages(fetch: (last: string | undefined) => MaybePromise<Page>): AsyncGenerator<string> {
  let last: string | undefined;
  for (;;) {
    const page = await fetch(last);
    yield* page.items;
    if (!page.more || page.items.length === 0) return;
    last = page.items.at(-1);
  }
}
