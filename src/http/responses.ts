/** Response builders: the headers every response carries, JSON bodies, and the one error → response mapping. */
import { isRegistryError, RegistryError } from '../errors.ts';

/** Sent on every response, so Docker-era clients recognise a v2 registry. */
export const API_VERSION_HEADER = ['Docker-Distribution-API-Version', 'registry/2.0'] as const;

/** Headers with the API version header already set. */
export function baseHeaders(init?: Record<string, string>): Headers {
  const h = new Headers(init);
  h.set(API_VERSION_HEADER[0], API_VERSION_HEADER[1]);
  return h;
}

/** A JSON response with an exact Content-Length. */
export function json(body: unknown, status = 200, headers: Headers = baseHeaders(), contentType = 'application/json'): Response {
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  headers.set('Content-Type', contentType);
  headers.set('Content-Length', String(bytes.byteLength));
  return new Response(bytes, { status, headers });
}

/** A body-less response (HEAD, 202, 204) with Content-Length set as given. */
export function empty(status: number, headers: Headers = baseHeaders(), contentLength = 0): Response {
  headers.set('Content-Length', String(contentLength));
  return new Response(null, { status, headers });
}

/**
 * Maps any thrown value to the spec's error response. Registry errors keep their code and status; anything else
 * is an UNKNOWN 500 whose cause is logged by the caller, never sent.
 */
export function errorResponse(error: unknown, method: string): Response {
  const e = isRegistryError(error) ? error : new RegistryError('UNKNOWN', 'internal server error');
  const headers = baseHeaders(e.headers);
  if (method === 'HEAD') return empty(e.status, headers);
  return json(e.toBody(), e.status, headers);
}
