/**
 * A Link walk as a fixed list of page targets, so a generator that cannot follow `Link` (wrk) can still measure it:
 * requesting the pages of one walk in turn, round-robin, sends the same request mix as whole walks, and
 * pages ÷ pages-per-walk is walks.
 */
import { requestTarget } from './http1.ts';
import type { HttpLoad, LoadResult } from './types.ts';

/** Upper bound on the pages of one walk (a target that links forever must not hang the harness). */
const MAX_PAGES = 100_000;

/** The target of `Link: <…>; rel="next"`, if any. Link values are bounded by the HTTP client's header limits. */
export function nextLink(link: string | null | undefined): string | undefined {
  if (!link) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link.slice(0, 8192));
  return m ? requestTarget(m[1]!.startsWith('/') || m[1]!.includes('://') ? m[1]! : `/${m[1]!}`) : undefined;
}

/** Walks once from `load.paths[0]` and returns every page's request target, first page included. */
export async function walkPages(load: HttpLoad): Promise<string[]> {
  const pages: string[] = [];
  let target: string | undefined = load.paths[0]!;
  while (target !== undefined) {
    if (pages.length >= MAX_PAGES) throw new Error(`a walk is longer than ${MAX_PAGES} pages`);
    pages.push(target);
    const res: Response = await fetch(new URL(target, load.baseUrl), { headers: load.headers, signal: AbortSignal.timeout(30_000) });
    await res.arrayBuffer();
    if (!load.okStatus.includes(res.status)) throw new Error(`HTTP ${res.status} for GET ${target} while listing the pages of a walk`);
    target = nextLink(res.headers.get('link'));
  }
  return pages;
}

/** Turns a result counted in pages into one counted in walks (page latencies are not walk latencies: dropped). */
export function pagesToWalks(result: LoadResult, pagesPerWalk: number): LoadResult {
  const { p50Ms: _p50, p99Ms: _p99, ...rest } = result;
  return { ...rest, requests: result.requests / pagesPerWalk };
}
