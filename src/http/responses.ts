/** Response builders: the headers every response carries, JSON bodies, and the one error → response mapping. */
import { knownError, RegistryError } from '../errors.ts';

/** Sent on every response, so Docker-era clients recognise a v2 registry. */
export const API_VERSION_HEADER = ['Docker-Distribution-API-Version', 'registry/2.0'] as const;

let dateSecond = 0;
let dateValue = '';

/** The Date header value, formatted once per second. Bun omits Date on HEAD responses unless it is set. */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

/** Headers with the API version and Date headers already set. */
export function baseHeaders(init?: Record<string, string>): Headers {
  const h = new Headers(init);
  h.set(API_VERSION_HEADER[0], API_VERSION_HEADER[1]);
  h.set('Date', httpDate());
  return h;
}

const encoder = new TextEncoder();

/** A JSON response with an exact Content-Length. */
export function json(body: unknown, status = 200, headers: Headers = baseHeaders(), contentType = 'application/json'): Response {
  return encodedJson(encoder.encode(JSON.stringify(body)), status, headers, contentType);
}

/** A JSON response from an already encoded body (a cached one: Response never changes it). */
export function encodedJson(bytes: Uint8Array, status = 200, headers: Headers = baseHeaders(), contentType = 'application/json'): Response {
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
 * Maps any thrown value to the spec's error response. Registry errors keep their code and status, storage failures
 * (full disk) get theirs from `storageFailure`; anything else is an UNKNOWN 500 whose cause is logged by the caller,
 * never sent.
 */
export function errorResponse(error: unknown, method: string): Response {
  const e = knownError(error) ?? new RegistryError('UNKNOWN', 'internal server error');
  const response = json(e.toBody(), e.status, baseHeaders(e.headers));
  // HEAD gets the headers GET would send, Content-Type and Content-Length included (RFC 9110 §9.3.2), no body.
  return method === 'HEAD' ? new Response(null, { status: e.status, headers: response.headers }) : response;
}
