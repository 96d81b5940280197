/**
 * The server's request observer: request id in and out, one metrics observation, and (when on) one access log
 * line per request. Plugged into the registry's dispatcher as `observer`.
 */
import type { RequestObserver, RequestRecord } from '../http/dispatch.ts';
import type { Logger } from '../logger.ts';
import { logAccess, type ClientAddress } from './access-log.ts';
import type { Metrics } from './metrics.ts';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.ts';

/** Settings of the observer that live reload may change. */
export interface ObserverSettings {
  /** Write one access log line per request. */
  accessLog: boolean;
}

/** Builds the observer. `client` finds a request's peer address (set once the server listens). */
export function createObserver(
  logger: Logger,
  metrics: Metrics | undefined,
  settings: ObserverSettings,
  client: { address?: ClientAddress } = {},
  /** Hears every response (mirror fill events). */
  onResponse?: (record: RequestRecord, response: Response) => void,
): RequestObserver {
  return {
    begin(record: RequestRecord) {
      const request = record.request;
      record.id = requestIdOf(request);
      // Looked up now: the socket belongs to this Request object, not to a re-wrapped one.
      if (settings.accessLog || logger.enabled('debug')) record.client = client.address?.(request);
      if (metrics && isUploadRequest(record)) metrics.uploadInFlight(1);
      // Chunked bodies (docker, containerd and podman PATCH layers this way) have no Content-Length to read
      // afterwards; count them as they stream. Bodies with a length are taken from the header, at no cost.
      const m = record.method;
      if (m !== 'GET' && m !== 'HEAD' && m !== 'DELETE' && request.body !== null && !request.headers.has('content-length')) {
        record.received = 0;
        const counted = request.body.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              record.received! += chunk.byteLength;
              controller.enqueue(chunk);
            },
          }),
        );
        record.request = new Request(request, { body: counted, duplex: 'half' } as RequestInit);
      }
    },
    end(record: RequestRecord, response: Response) {
      const ms = performance.now() - record.started;
      // Bun.file responses and errors alike carry mutable headers; a frozen one is left without the echo.
      try {
        response.headers.set(REQUEST_ID_HEADER, record.id!);
      } catch {}
      if (metrics) {
        // `begin` saw the route as 'none'; decide by method and path once more, cheaply.
        if (isUploadRequest(record)) metrics.uploadInFlight(-1);
        metrics.observeRequest(record, response, ms / 1000);
      }
      if (settings.accessLog) logAccess(logger, record, response, ms);
      else if (logger.enabled('debug')) logAccess(logger, record, response, ms, 'debug');
      onResponse?.(record, response);
    },
  };
}

/** Blob upload requests that carry (or open) an upload body: POST, PATCH and PUT under `/blobs/uploads/`. */
function isUploadRequest(record: RequestRecord): boolean {
  const m = record.method;
  return (m === 'POST' || m === 'PATCH' || m === 'PUT') && (record.path.includes('/blobs/uploads/') || record.path.endsWith('/blobs/uploads'));
}
