/**
 * A minimal HTTP/1.1 client on Bun's TCP sockets, for the bundled load generator: one request at a time per
 * connection, keep-alive, Content-Length and chunked responses, bodies counted (never kept), request bodies
 * produced on the fly with backpressure. Counting bytes as they arrive lets a time window include the partial
 * transfers of multi-gigabyte responses.
 */
import type { Socket } from 'bun';

/** What a finished response looked like. */
export interface ResponseInfo {
  status: number;
  /** Header names in lower case. */
  headers: Map<string, string>;
  bodyBytes: number;
}

/** A request body produced on demand: `fill(out, offset)` writes bytes [offset, offset + out.length). */
export interface BodySource {
  length: number;
  fill(out: Uint8Array, offset: number): Uint8Array;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const WRITE_CHUNK = 1024 * 1024;

type BodyMode = { kind: 'length'; left: number } | { kind: 'chunked'; state: 'size' | 'data' | 'crlf' | 'trailer'; left: number; line: string } | { kind: 'none' };

interface Pending {
  isHead: boolean;
  resolve(r: ResponseInfo): void;
  reject(e: Error): void;
}

/** What the load clients need from a connection; {@link Http1Connection} and the fetch-based twin provide it. */
export interface Connection {
  onBytes: (n: number) => void;
  readonly isClosed: boolean;
  request(method: string, target: string, headers: string, body?: BodySource): Promise<ResponseInfo>;
  close(): void;
}

/** Which HTTP implementation a load client uses: raw sockets (default) or Bun's fetch (the cross-check). */
export type Transport = 'socket' | 'fetch';

/** Opens a connection to `baseUrl` with the chosen transport. */
export async function openConnection(baseUrl: URL, transport: Transport = 'socket'): Promise<Connection> {
  if (transport === 'fetch') {
    const { FetchConnection } = await import('./fetch-connection.ts');
    return new FetchConnection(baseUrl);
  }
  return Http1Connection.open(baseUrl);
}

/** One keep-alive connection. */
export class Http1Connection implements Connection {
  /** Called with the size of every received chunk (headers included). */
  onBytes: (n: number) => void = () => {};
  private socket!: Socket<undefined>;
  private pending: Pending | undefined;
  private head: Buffer | undefined;
  private response: ResponseInfo | undefined;
  private body: BodyMode = { kind: 'none' };
  private drained: (() => void) | undefined;
  private closed = false;
  private hostHeader = '';

  private constructor() {}

  /** Connects to the host of `url` (TLS for https). */
  static async open(url: URL): Promise<Http1Connection> {
    const conn = new Http1Connection();
    const tls = url.protocol === 'https:';
    conn.hostHeader = url.host;
    conn.socket = await Bun.connect({
      hostname: url.hostname,
      port: Number(url.port || (tls ? 443 : 80)),
      ...(tls ? { tls: { serverName: url.hostname, rejectUnauthorized: process.env.MARINA_BENCH_INSECURE !== '1' } } : {}),
      socket: {
        data: (_s, data) => conn.receive(data),
        drain: () => {
          const d = conn.drained;
          conn.drained = undefined;
          d?.();
        },
        close: () => conn.fail(new Error('connection closed')),
        error: (_s, e) => conn.fail(e),
        end: () => conn.fail(new Error('connection ended by server')),
      },
    });
    conn.socket.setNoDelay(true);
    return conn;
  }

  /** True once the connection can no longer be used. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Sends a request and resolves when its response is complete. `headers` are extra header lines, each ending in
   * CRLF; Host is always sent, and Content-Length for every method but GET and HEAD.
   */
  async request(method: string, target: string, headers: string, body?: BodySource): Promise<ResponseInfo> {
    if (this.closed) throw new Error('connection closed');
    if (this.pending) throw new Error('one request at a time');
    const done = new Promise<ResponseInfo>((resolve, reject) => {
      this.pending = { isHead: method === 'HEAD', resolve, reject };
    });
    const length = body ? body.length : method === 'GET' || method === 'HEAD' ? -1 : 0;
    const head = `${method} ${target} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n${headers}${length >= 0 ? `Content-Length: ${length}\r\n` : ''}\r\n`;
    try {
      await this.write(Buffer.from(head));
      if (body && body.length > 0) {
        const buf = new Uint8Array(Math.min(WRITE_CHUNK, body.length));
        // Stop sending once the response is complete: the server answered early (an error) and reads no more.
        for (let at = 0; at < body.length && this.pending; at += buf.length) {
          const part = buf.subarray(0, Math.min(buf.length, body.length - at));
          await this.write(body.fill(part, at));
        }
      }
    } catch (e) {
      done.catch(() => {});
      throw e;
    }
    return done;
  }

  /** Closes the socket; a request in flight fails. */
  close(): void {
    if (!this.closed) this.socket.end();
    this.fail(new Error('closed by client'));
  }

  private async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      if (this.closed) throw new Error('connection closed');
      const n = this.socket.write(bytes.subarray(off));
      if (n > 0) off += n;
      if (off < bytes.length) await new Promise<void>((resolve) => (this.drained = resolve));
    }
  }

  private fail(error: Error): void {
    this.closed = true;
    const d = this.drained;
    this.drained = undefined;
    d?.();
    const p = this.pending;
    this.pending = undefined;
    p?.reject(error);
  }

  private receive(data: Buffer): void {
    this.onBytes(data.length);
    if (!this.pending) return;
    let rest: Buffer | undefined = data;
    if (!this.response) {
      const buf: Buffer = this.head ? Buffer.concat([this.head, data]) : data;
      const end = buf.indexOf(HEAD_END);
      if (end < 0) {
        this.head = buf;
        return;
      }
      this.head = undefined;
      this.startResponse(buf.subarray(0, end).toString('latin1'));
      rest = buf.subarray(end + 4);
    }
    if (rest.length) this.consumeBody(rest);
    if (this.bodyDone()) this.finish();
  }

  private startResponse(text: string): void {
    const lines = text.split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    this.response = { status, headers, bodyBytes: 0 };
    const noBody = this.pending!.isHead || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (noBody) this.body = { kind: 'none' };
    else if (headers.get('transfer-encoding')?.toLowerCase().includes('chunked')) this.body = { kind: 'chunked', state: 'size', left: 0, line: '' };
    else this.body = { kind: 'length', left: Number(headers.get('content-length') ?? 0) };
  }

  private consumeBody(data: Buffer): void {
    const body = this.body;
    const response = this.response!;
    if (body.kind === 'length') {
      const n = Math.min(body.left, data.length);
      body.left -= n;
      response.bodyBytes += n;
      return;
    }
    if (body.kind !== 'chunked') return;
    let i = 0;
    while (i < data.length && !(body.state === 'trailer' && body.left < 0)) {
      if (body.state === 'data') {
        const n = Math.min(body.left, data.length - i);
        body.left -= n;
        response.bodyBytes += n;
        i += n;
        if (body.left === 0) body.state = 'crlf';
        continue;
      }
      const nl = data.indexOf(10, i);
      const piece = data.subarray(i, nl < 0 ? data.length : nl).toString('latin1');
      i = nl < 0 ? data.length : nl + 1;
      if (nl < 0) {
        body.line += piece;
        continue;
      }
      const line = (body.line + piece).replace(/\r$/, '');
      body.line = '';
      if (body.state === 'crlf') body.state = 'size';
      else if (body.state === 'size') {
        body.left = parseInt(line, 16);
        body.state = body.left === 0 ? 'trailer' : 'data';
      } else if (line === '') body.left = -1; // the blank line closing the trailer: the body is complete
    }
  }

  private bodyDone(): boolean {
    const body = this.body;
    if (body.kind === 'none') return true;
    if (body.kind === 'length') return body.left === 0;
    return body.state === 'trailer' && body.left < 0;
  }

  private finish(): void {
    const response = this.response!;
    const p = this.pending!;
    this.response = undefined;
    this.pending = undefined;
    this.body = { kind: 'none' };
    p.resolve(response);
  }
}

/** Splits a Location header (absolute or relative) into the request target. */
export function requestTarget(location: string): string {
  if (location.startsWith('/')) return location;
  const url = new URL(location);
  return `${url.pathname}${url.search}`;
}

/** A connection that sends `extra` header lines (each ending in CRLF, e.g. credentials) with every request. */
export function withHeaders(conn: Connection, extra: string): Connection {
  if (!extra) return conn;
  return {
    get onBytes() {
      return conn.onBytes;
    },
    set onBytes(f: (n: number) => void) {
      conn.onBytes = f;
    },
    get isClosed() {
      return conn.isClosed;
    },
    request: (method, target, headers, body) => conn.request(method, target, extra + headers, body),
    close: () => conn.close(),
  };
}

/** Header lines (each ending in CRLF) for a header record. */
export function headerLines(headers: Record<string, string> | undefined): string {
  return Object.entries(headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
}
