/**
 * The cross-check transport: the same request contract as the raw-socket {@link Http1Connection}, implemented on
 * Bun's fetch (its own HTTP parser, connection pool and body handling). The load loops and their counting are
 * shared, the HTTP implementation is not, so a generator bottleneck or a parsing mistake in one shows up as a
 * disagreement between the two.
 */
import type { BodySource, Connection, ResponseInfo } from './http1.ts';

/** Request bodies up to this size are built in memory; larger ones stream with an explicit Content-Length. */
const IN_MEMORY_BODY = 256 * 1024 * 1024;
/** Responses with a Content-Length up to this size are read whole instead of streamed. */
const SMALL_RESPONSE = 64 * 1024;

/** A "connection" over fetch: one request at a time, keep-alive from fetch's pool. */
export class FetchConnection implements Connection {
  onBytes: (n: number) => void = () => {};
  private closed = false;
  private readonly abort = new AbortController();

  constructor(private readonly base: URL) {}

  get isClosed(): boolean {
    return this.closed;
  }

  async request(method: string, target: string, headers: string, body?: BodySource): Promise<ResponseInfo> {
    if (this.closed) throw new Error('connection closed');
    const h = new Headers();
    for (const line of headers.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) h.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    let payload: Uint8Array | ReadableStream<Uint8Array> | undefined;
    if (body) {
      h.set('Content-Length', String(body.length));
      payload = body.length <= IN_MEMORY_BODY ? body.fill(new Uint8Array(body.length), 0) : streamOf(body);
    } else if (method !== 'GET' && method !== 'HEAD') {
      h.set('Content-Length', '0');
    }
    const res = await fetch(new URL(target, this.base), { method, headers: h, body: payload, redirect: 'manual', signal: this.abort.signal, duplex: 'half' } as RequestInit);
    const info: ResponseInfo = { status: res.status, headers: new Map(), bodyBytes: 0 };
    res.headers.forEach((v, k) => info.headers.set(k.toLowerCase(), v));
    const length = Number(res.headers.get('content-length') ?? Number.NaN);
    if (length <= SMALL_RESPONSE) {
      // Small answers (push steps, manifests, errors) in one read: a stream's per-chunk promises would make this
      // client, not the server, the bottleneck of request-bound loads.
      const n = (await res.arrayBuffer()).byteLength;
      info.bodyBytes = n;
      this.onBytes(n);
    } else if (res.body) {
      for await (const chunk of res.body) {
        info.bodyBytes += chunk.byteLength;
        this.onBytes(chunk.byteLength);
      }
    }
    return info;
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
  }
}

function streamOf(body: BodySource): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= body.length) return controller.close();
      const n = Math.min(1024 * 1024, body.length - at);
      controller.enqueue(body.fill(new Uint8Array(n), at));
      at += n;
    },
  });
}
