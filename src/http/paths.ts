/**
 * The distribution-spec URL space. Matched on the path as received (still percent-encoded), so an encoded
 * slash or dot can never become part of a repository name.
 */
import { RegistryError } from '../errors.ts';

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

/**
 * Finds the endpoint a path names, or undefined. The name is everything between `/v2/` and the LAST endpoint
 * marker, so a repository may itself contain "blobs" or "manifests" components; the part after a marker is one
 * path segment. Plain string searches: this runs on every request.
 */
export function matchRoute(pathname: string): Route | undefined {
  if (!pathname.startsWith('/v2/')) return pathname === '/v2' ? { kind: 'base' } : undefined;
  if (pathname.length === 4) return { kind: 'base' };
  if (pathname === '/v2/_catalog') return { kind: 'catalog' };
  if (pathname.endsWith('/tags/list')) {
    const name = pathname.slice(4, -'/tags/list'.length);
    return name ? { kind: 'tags', name } : undefined;
  }
  const slash = pathname.lastIndexOf('/');
  const last = pathname.slice(slash + 1);
  const rest = pathname.slice(0, slash);
  if (rest.endsWith('/blobs/uploads')) {
    const name = rest.slice(4, -'/blobs/uploads'.length);
    if (!name) return undefined;
    return last ? { kind: 'upload', name, id: last } : { kind: 'uploads', name };
  }
  if (!last) return undefined;
  if (last === 'uploads' && rest.endsWith('/blobs')) {
    const name = rest.slice(4, -'/blobs'.length);
    return name ? { kind: 'uploads', name } : undefined;
  }
  for (const [marker, kind] of SEGMENT_ROUTES) {
    if (!rest.endsWith(marker)) continue;
    const name = rest.slice(4, -marker.length);
    if (!name) return undefined;
    if (kind === 'manifest') return { kind, name, reference: last };
    return { kind, name, digest: last };
  }
  return undefined;
}

// Endpoints of the form /v2/<name><marker>/<one segment>.
const SEGMENT_ROUTES: [string, 'manifest' | 'blob' | 'referrers'][] = [
  ['/manifests', 'manifest'],
  ['/blobs', 'blob'],
  ['/referrers', 'referrers'],
];

/**
 * Longest request target (path and query) Marina reads: far above any valid name (255), reference and
 * query, so listing pages and upload URLs always fit. Longer targets get a 414 with the spec's JSON error body.
 */
export const MAX_TARGET_LENGTH = 8192;

/** @throws RegistryError 414 when the path and query together exceed {@link MAX_TARGET_LENGTH} */
export function assertTargetLength(pathname: string, search: string): void {
  const length = pathname.length + search.length;
  if (length > MAX_TARGET_LENGTH) {
    throw new RegistryError('UNSUPPORTED', `request target is longer than ${MAX_TARGET_LENGTH} characters`, { status: 414, detail: { limit: MAX_TARGET_LENGTH } });
  }
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
