/** The catalog as one caller may see it: only repositories they may pull, still paginated with `n` and `last`. */
import { listRepositories, type Listing, type PageQuery } from '../core/listings.ts';
import type { CoreContext } from '../core/context.ts';

/** Names looked at for one page before a short page (with a Link to continue) may be returned. */
const MAX_SCAN = 100_000;

/** A page of the repositories `visible` admits, of up to `n` entries. */
export async function visibleRepositories(core: CoreContext, query: PageQuery, visible: (repository: string) => Promise<boolean>): Promise<Listing> {
  const keep = async (names: string[]) => {
    const verdicts = await Promise.all(names.map(visible));
    return names.filter((_, i) => verdicts[i]);
  };
  if (query.n === undefined || query.n === 0) {
    const all = await listRepositories(core, query);
    return { ...all, items: await keep(all.items) };
  }
  const items: string[] = [];
  let last = query.last;
  let scanned = 0;
  for (;;) {
    const page = await listRepositories(core, { n: query.n, last });
    scanned += page.items.length;
    for (const name of await keep(page.items)) {
      items.push(name);
      // Full: the next page starts after the last name returned.
      if (items.length === Math.min(query.n, core.settings.maxPageSize)) return { items, next: page.next !== undefined || name !== page.items.at(-1) ? name : undefined };
    }
    if (page.next === undefined) return { items };
    last = page.next;
    // Past the bound a short page goes back, its cursor the last name shown: the last name looked at may be one the
    // caller may not see. With nothing shown yet the scan goes on, as a request without `n` would.
    if (scanned >= MAX_SCAN && items.length > 0) return { items, next: items.at(-1) };
  }
}
