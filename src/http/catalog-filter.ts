/** The catalog as one caller may see it: only repositories they may pull, still paginated with `n` and `last`. */
import { listRepositories, type Listing, type PageQuery } from '../core/listings.ts';
import type { CoreContext } from '../core/context.ts';

/** Most names looked at for one page; past that a short page is returned with a Link to continue. */
const MAX_SCAN = 100_000;

/** A page of the repositories `visible` admits, of up to `n` entries. */
export async function visibleRepositories(core: CoreContext, query: PageQuery, visible: (repository: string) => Promise<boolean>): Promise<Listing> {
  const keep = async (names: string[]) => {
    const verdicts = await Promise.all(names.map(visible));
    return names.filter((_, i) => verdicts[i]);
  };
  if (query.n === undefined || query.n === 0) {
    const all = listRepositories(core, query);
    return { ...all, items: await keep(all.items) };
  }
  const items: string[] = [];
  let last = query.last;
  let scanned = 0;
  for (;;) {
    const page = listRepositories(core, { n: query.n, last });
    scanned += page.items.length;
    for (const name of await keep(page.items)) {
      items.push(name);
      // Full: the next page starts after the last name returned.
      if (items.length === Math.min(query.n, core.settings.maxPageSize)) return { items, next: page.next !== undefined || name !== page.items.at(-1) ? name : undefined };
    }
    if (page.next === undefined) return { items };
    last = page.next;
    if (scanned >= MAX_SCAN) return { items, next: last };
  }
}
