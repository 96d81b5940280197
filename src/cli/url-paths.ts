/**
 * Cheap tests on a request URL, run before any routing on every request of `marina serve`: which face answers it
 * (the token endpoint, the warm-up endpoint, the registry itself or Elysia).
 */

/** The offset of the path in an absolute URL, or -1. */
function pathStart(url: string): number {
  return url.indexOf('/', url.indexOf('://') + 3);
}

/** True when the URL's path is exactly `pathname` (no query). */
export function isPath(url: string, pathname: string): boolean {
  const start = pathStart(url);
  return start >= 0 && url.length === start + pathname.length && url.endsWith(pathname);
}

/** `/token`, the token endpoint, whatever the query. */
export function isTokenPath(url: string): boolean {
  return isPath(url, '/token') || url.startsWith('/token?', pathStart(url));
}

/**
 * True for `/v2`, `/v2/…` and `/v2?…`, which the registry answers itself, and for any URL with a Host shorter than
 * 4 characters (Elysia 1.4 mis-routes those).
 */
export function isRegistryPath(url: string): boolean {
  return shortAuthority(url) || isV2Path(url);
}

/** True for `/v2`, `/v2/…` and `/v2?…`. */
export function isV2Path(url: string): boolean {
  const slash = pathStart(url);
  if (!url.startsWith('/v2', slash)) return false;
  const next = url.charCodeAt(slash + 3);
  // End of the URL (NaN), '/' or '?'.
  return Number.isNaN(next) || next === 47 || next === 63;
}

/**
 * Elysia 1.4 locates the path with `url.indexOf('/', 11)`, which assumes an authority of at least four characters;
 * requests with a shorter Host (`reg`, `r:1`) go straight to the registry handler, which parses URLs itself.
 */
function shortAuthority(url: string): boolean {
  const start = url.indexOf('://') + 3;
  const slash = url.indexOf('/', start);
  return slash - start < 4;
}
