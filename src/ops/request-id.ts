/**
 * Request ids: a client's (or proxy's) `X-Request-Id` is kept when it is short and made of safe characters, so
 * one id follows a request through the proxy, Marina and the access log; otherwise Marina makes one.
 */

/** The header carrying the id, on requests and echoed on responses. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** Longest id accepted from a client. */
export const MAX_REQUEST_ID_LENGTH = 128;

// Tested only after the length check, so the pattern never sees unbounded input.
const SAFE = /^[A-Za-z0-9._:+=@-]+$/;

/** The client's id when acceptable, else a fresh UUID. */
export function requestIdOf(request: Request): string {
  const given = request.headers.get(REQUEST_ID_HEADER);
  if (given !== null && given.length > 0 && given.length <= MAX_REQUEST_ID_LENGTH && SAFE.test(given)) return given;
  return crypto.randomUUID();
}
