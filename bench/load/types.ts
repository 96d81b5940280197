/** The load generators' common contract: what to send, and what came back. */

/** Which program produced a number. */
export type GeneratorId = 'wrk' | 'oha' | 'curl' | 'bun' | 'bun-fetch' | 'bun-push' | 'fetch-push';

/** A request-loop load: `connections` clients sending requests back to back for `durationSec`. */
export interface HttpLoad {
  baseUrl: string;
  method: 'GET' | 'HEAD';
  /** Request targets, taken round-robin (each connection starts at a different one). */
  paths: string[];
  /** Extra request headers. */
  headers: Record<string, string>;
  connections: number;
  /** Load window in seconds. */
  durationSec: number;
  /** Upper bound on requests started (the bundled client stops there; wrk and oha are bounded by time). */
  maxRequests: number;
  /** A random `Range: bytes=a-b` of this length inside a blob of `size` bytes on every request. */
  randomRange?: { length: number; size: number };
  /** Follow `Link: <…>; rel="next"` until the last page; one "request" is then a whole walk. */
  walk?: boolean;
  /** Statuses that count as success. */
  okStatus: number[];
  /**
   * After the window, let requests in flight finish for up to this many seconds (bundled client only); they count,
   * and the measured time runs to the last completion. For loads whose unit (a walk) can outlast the window.
   */
  drainSec?: number;
  /** Size of one response body (a hint: wrk counts statuses exactly only for small bodies). */
  bodySize?: number;
  /** Bytes per second the first generator measured: sizes the second one's whole-transfer runs (curl). */
  expectedBytesPerSec?: number;
  /** HTTP implementation of the bundled client: raw sockets (default) or Bun's fetch (the cross-check). */
  transport?: 'socket' | 'fetch';
}

/** What a load run measured. */
export interface LoadResult {
  generator: GeneratorId;
  /** Requests (or walks, or pushes) completed inside the window with the expected status; nothing else counts. */
  requests: number;
  /** Completed with an unexpected status, or failed at the socket. */
  errors: number;
  /** Bytes received (GET) or sent (push) inside the window, partial transfers included. */
  bytes: number;
  seconds: number;
  p50Ms?: number;
  p99Ms?: number;
  /** The first error seen, for diagnosis. */
  firstError?: string;
}
