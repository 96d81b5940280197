/**
 * The host names a registry answers to, against DNS rebinding. A web page on another site can point its own name at
 * 127.0.0.1 and then reach a registry listening there from the user's browser: its requests carry the page's name
 * in `Host` and `Origin`, so they look same-site to every other check, and a local registry without authentication
 * would let the page push, delete and read images. Such requests always name a DNS name the registry was never
 * given; registry clients name the address they were told (`localhost:5000`, `127.0.0.1:5000`, the server's name).
 */
import { RegistryError } from '../errors.ts';
import { errorResponse } from './responses.ts';

/** Options of {@link hostGuard}. */
export interface HostGuardOptions {
  /** The server listens on a loopback address only. */
  onLoopback: boolean;
  /** Host names to answer besides loopback names and IP literals; `*.example.com` matches its subdomains. */
  allowed?: readonly string[];
}

/**
 * A check of each request's `Host`, or undefined when every host is answered (a registry on a non-loopback address
 * with no list: it is reached under names it cannot know). On loopback, or with a list, a request naming another DNS
 * name is answered 403 DENIED before anything else reads it. IP literals always pass: no page is served from one by
 * rebinding.
 */
export function hostGuard(options: HostGuardOptions): ((request: Request) => Response | undefined) | undefined {
  const listed = (options.allowed ?? []).map((h) => h.trim().toLowerCase()).filter(Boolean);
  if (listed.length === 0 && !options.onLoopback) return undefined;
  const exact = new Set(listed.filter((h) => !h.startsWith('*.')));
  const suffixes = listed.filter((h) => h.startsWith('*.')).map((h) => h.slice(1));
  const allowed = (name: string) => exact.has(name) || name === 'localhost' || name.endsWith('.localhost') || isIpLiteral(name) || suffixes.some((s) => name.endsWith(s));
  return (request) => {
    const name = hostName(request.headers.get('host'));
    if (name === undefined || allowed(name)) return undefined;
    const error = new RegistryError('DENIED', `this registry does not answer to the host name "${name.slice(0, 64)}" (see --allowed-hosts)`, { status: 403 });
    return errorResponse(error, request.method);
  };
}

/** The name in a `Host` header without its port, lower-cased; undefined when absent (HTTP/1.0) or too long. */
function hostName(header: string | null): string | undefined {
  if (header === null || header.length > 300) return undefined;
  const h = header.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

function isIpLiteral(name: string): boolean {
  return name.startsWith('[') || /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}
