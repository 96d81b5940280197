/**
 * Access logs: one structured line per request, through the server's logger (JSON or text): at level info when
 * access logs are on, else at debug (so `--log-level debug` still shows every request).
 */
import type { RequestRecord } from '../http/dispatch.ts';
import type { Logger } from '../logger.ts';
import { cacheOutcome } from './cache-status.ts';

/** Longest path written to a log line; longer ones are cut and marked. */
export const MAX_LOGGED_PATH = 256;

/** The body bytes a request brought: counted for chunked bodies, else its Content-Length. */
export function receivedBytes(record: RequestRecord): number {
  return record.received ?? (Number(record.request.headers.get('content-length')) || 0);
}

/** Writes the access line of a finished request. */
export function logAccess(logger: Logger, record: RequestRecord, response: Response, ms: number, level: 'info' | 'debug' = 'info'): void {
  const path = record.path.length > MAX_LOGGED_PATH ? `${record.path.slice(0, MAX_LOGGED_PATH)}…` : record.path;
  const fields: Record<string, unknown> = {
    id: record.id,
    method: record.method.length > 16 ? record.method.slice(0, 16) : record.method,
    path,
    route: record.route,
    status: response.status,
    bytes: record.method === 'HEAD' ? 0 : Number(response.headers.get('content-length') ?? 0),
    received: receivedBytes(record),
    ms: Math.round(ms * 100) / 100,
  };
  if (record.user !== undefined) fields.user = record.user;
  if (record.client !== undefined) fields.client = record.client;
  const cache = response.headers.get('cache-status');
  if (cache !== null) fields.cache = cacheOutcome(cache);
  if (record.error !== undefined) fields.error = record.error instanceof Error ? record.error.message : String(record.error);
  logger[level]('request', fields);
}
