/**
 * The distribution-spec URL space. Matched on the path as received (still percent-encoded), so an encoded
 * slash or dot can never become part of a repository name.
 */

/** A recognised endpoint. `name` is unchecked here; handlers validate it. */
export type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'referrers'; name: string; digest: string };

// Greedy `(.+)` keeps the longest name, so a repository may itself contain "blobs" or "manifests" components.
const PATTERNS: [RegExp, (m: RegExpExecArray) => Route][] = [
  [/^\/v2\/(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1]! })],
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: 'manifest', name: m[1]!, reference: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'uploads', name: m[1]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: 'upload', name: m[1]!, id: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1]!, digest: m[2]! })],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: 'referrers', name: m[1]!, digest: m[2]! })],
];

/** Finds the endpoint a path names, or undefined. */
export function matchRoute(pathname: string): Route | undefined {
  if (pathname === '/v2/' || pathname === '/v2') return { kind: 'base' };
  if (pathname === '/v2/_catalog') return { kind: 'catalog' };
  for (const [pattern, build] of PATTERNS) {
    const m = pattern.exec(pathname);
    if (m) return build(m);
  }
  return undefined;
}

/** Splits a request URL into path and query without a full URL parse (the hot path). */
export function splitUrl(url: string): { pathname: string; search: string } {
  const scheme = url.indexOf('://');
  const pathStart = scheme < 0 ? 0 : url.indexOf('/', scheme + 3);
  if (pathStart < 0) return { pathname: '/', search: '' };
  const q = url.indexOf('?', pathStart);
  return q < 0 ? { pathname: url.slice(pathStart), search: '' } : { pathname: url.slice(pathStart, q), search: url.slice(q + 1) };
}

/** URL paths the registry hands out in Location and Link headers. */
export const paths = {
  blob: (name: string, digest: string) => `/v2/${name}/blobs/${digest}`,
  upload: (name: string, id: string) => `/v2/${name}/blobs/uploads/${id}`,
  manifest: (name: string, reference: string) => `/v2/${name}/manifests/${reference}`,
  tags: (name: string) => `/v2/${name}/tags/list`,
  catalog: () => '/v2/_catalog',
  referrers: (name: string, digest: string) => `/v2/${name}/referrers/${digest}`,
};
