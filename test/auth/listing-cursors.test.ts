/**
 * Paged listings filtered by access (`/v2/_catalog` and the web page's repository list) stop scanning after a bound
 * and hand back a cursor; that cursor must never be the name of a repository the caller may not see.
 */
import { describe, expect, test } from 'bun:test';
import type { CoreContext } from '../../src/core/context.ts';
import { visibleRepositories } from '../../src/http/catalog-filter.ts';
import type { UiCaller } from '../../src/ui/access.ts';
import { repositoryPage } from '../../src/ui/queries.ts';
import type { RepositorySummaries } from '../../src/ui/summaries.ts';
import type { MetadataIndex } from '../../src/storage/types.ts';

// 150,000 repositories, more than either scan bound; the caller may see two of them, far apart.
const NAMES = Array.from({ length: 150_000 }, (_, i) => `hidden/r${String(i).padStart(6, '0')}`);
NAMES[5] = 'hidden/r000005-seen';
NAMES[149_990] = 'hidden/r149990-seen';
NAMES.sort();
const VISIBLE = new Set(NAMES.filter((n) => n.endsWith('-seen')));

/** The index's ordered listing: names after `last`, at most `limit`. */
function listRepositories({ last, limit }: { last?: string; limit: number }): { items: string[]; more: boolean } {
  let from = 0;
  if (last !== undefined) {
    let lo = 0;
    let hi = NAMES.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (NAMES[mid]! <= last) lo = mid + 1;
      else hi = mid;
    }
    from = lo;
  }
  const items = NAMES.slice(from, from + limit);
  return { items, more: from + items.length < NAMES.length };
}

const index = { listRepositories } as unknown as MetadataIndex;
const mayList = async (name: string) => VISIBLE.has(name);

/** Follows `next` cursors to the end; returns every item and every cursor handed out. */
async function follow(page: (last: string | undefined) => Promise<{ items: string[]; next?: string }>): Promise<{ items: string[]; cursors: string[] }> {
  const items: string[] = [];
  const cursors: string[] = [];
  let last: string | undefined;
  for (let i = 0; i < 20; i++) {
    const answer = await page(last);
    items.push(...answer.items);
    if (answer.next === undefined) return { items, cursors };
    cursors.push(answer.next);
    last = answer.next;
  }
  throw new Error('the listing did not end in 20 pages');
}

describe('cursors of filtered listings', () => {
  test('/v2/_catalog with n hands out only names the caller may see, and still reaches every one of them', async () => {
    const core = { index, settings: { maxPageSize: 10_000 } } as unknown as CoreContext;
    const { items, cursors } = await follow((last) => visibleRepositories(core, { n: 100, last }, mayList));
    expect(items).toEqual([...VISIBLE]);
    for (const cursor of cursors) expect(VISIBLE.has(cursor)).toBe(true);
  });

  test('the web page repository list hands out only names the caller may see, and still reaches every one of them', async () => {
    const summaries = { get: (name: string) => ({ name }) } as unknown as RepositorySummaries;
    const caller = { mayList } as unknown as UiCaller;
    const { items, cursors } = await follow(async (last) => {
      const page = await repositoryPage(index, summaries, caller, { n: 50, last });
      return { items: page.items.map((s) => s.name), next: page.next };
    });
    expect(items).toEqual([...VISIBLE]);
    for (const cursor of cursors) expect(VISIBLE.has(cursor)).toBe(true);
  });
});
