/**
 * The server's request observer: request id in and out, one metrics observation, and (when on) one access log
 * line per request. Plugged into the registry's dispatcher as `observer`.
 */
import type { RequestObserver, RequestRecord } from '../http/dispatch.ts';
import { clientAddress, rememberClientAddress } from '../auth/client-address.ts';
import type { Logger } from '../logger.ts';
import { logAccess } from './access-log.ts';
import type { Metrics } from './metrics.ts';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.ts';

/** Settings of the observer that live reload may change. */
export interface ObserverSettings {
  /** Write one access log line per request. */
  accessLog: boolean;
}

/** Builds the observer. Client addresses are those the server recorded (`rememberClientAddress`). */
export function createObserver(
  logger: Logger,
  metrics: Metrics | undefined,
  settings: ObserverSettings,
  /** Hears every response (mirror fill events). */
  onResponse?: (record: RequestRecord, response: Response) => void,
): RequestObserver {
  return {
    begin(record: RequestRecord) {
      const request = record.request;
      record.id = requestIdOf(request);
      const address = clientAddress(request);
      if (address !== 'unknown') record.client = address;
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
        const measured = new Request(request, { body: counted, duplex: 'half' } as RequestInit);
        // Rate limits and auth logs find the caller's address by Request object.
        if (record.client !== undefined) rememberClientAddress(measured, record.client);
        record.request = measured;
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
