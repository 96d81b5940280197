/**
 * Requests a browser sends on behalf of another site. Once a user has logged in to the web page, the browser adds
 * their Basic credentials to any request for this host, including a form another site submits (a "simple" POST
 * needs no CORS preflight). Registry clients send no `Origin`; browsers send it on every POST. So a request that
 * changes something and names a foreign (or opaque, `null`) origin is refused before it is authorized.
 */
import { RegistryError } from '../errors.ts';

/** @throws RegistryError DENIED for a non-GET/HEAD request whose `Origin` is not this host */
export function assertNotCrossSite(request: Request, method: string): void {
  if (method === 'GET' || method === 'HEAD') return;
  const origin = request.headers.get('origin');
  if (origin === null || hostOf(origin) === hostOf(request.url)) return;
  throw new RegistryError('DENIED', 'a request sent by a browser for another site is refused');
}

/** The `host[:port]` of an absolute URL; undefined for anything else (`null`, garbage). */
function hostOf(url: string): string | undefined {
  const start = url.indexOf('://');
  if (start < 0 || url.length > 2048) return undefined;
  const end = url.indexOf('/', start + 3);
  return (end < 0 ? url.slice(start + 3) : url.slice(start + 3, end)).toLowerCase();
}
