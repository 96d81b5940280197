/**
 * A round-robin HTTP balancer for tests of several `marina serve` nodes: each request (not each connection) goes to
 * the next node that is up and bodies stream both ways. Nothing is rewritten but hop-by-hop headers and a Location
 * that names a node's own origin (it becomes the balancer's); one header is added, `X-Balancer-Node` (the index of
 * the node that answered). Responses up to 8 MiB are passed on whole (see BUFFER_MAX), larger ones stream. A node
 * can be marked down; a node that refuses the connection is marked down and a request without a body is tried on
 * the next one, as real balancers do.
 */

/** Where a node listens. */
export interface Backend {
  /** `http://127.0.0.1:<port>` */
  url: string;
}

/** A running balancer. */
export interface Balancer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** How many requests each node was sent (by index). */
  sent: number[];
  /** The node each request went to, in order (for tests that must see the spread). */
  log: { method: string; path: string; node: number; status?: number }[];
  /** Stops sending requests to node `i` (in-flight ones go on). */
  down(i: number): void;
  /** Sends requests to node `i` again. */
  up(i: number): void;
  stop(): Promise<void>;
}

/** Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host'];

/** Responses up to this size are read whole before they are passed on (to keep their Content-Length). */
const BUFFER_MAX = 8 * 1024 * 1024;

/** Largest number of entries kept in {@link Balancer.log}. */
const LOG_CAP = 100_000;

/** Starts a balancer on 127.0.0.1 (a kernel-chosen port) in front of `backends`. */
export function startBalancer(backends: Backend[], options: { requestTimeoutMs?: number } = {}): Balancer {
  if (!backends.length) throw new Error('a balancer needs at least one node');
  const timeoutMs = options.requestTimeoutMs ?? 120_000;
  const isDown = backends.map(() => false);
  const sent = backends.map(() => 0);
  const log: Balancer['log'] = [];
  let next = 0;

  const pick = (): number | undefined => {
    for (let tries = 0; tries < backends.length; tries++) {
      const i = next;
      next = (next + 1) % backends.length;
      if (!isDown[i]) return i;
    }
    return undefined;
  };

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 0,
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    async fetch(request) {
      const incoming = new URL(request.url);
      const own = `http://127.0.0.1:${server.port}`;
      const headers = new Headers(request.headers);
      for (const h of HOP_BY_HOP) headers.delete(h);
      const hasBody = request.body !== null && request.headers.get('content-length') !== '0';
      for (let attempt = 0; attempt < backends.length; attempt++) {
        const i = pick();
        if (i === undefined) return new Response('no node is up\n', { status: 502 });
        sent[i]!++;
        const entry: Balancer['log'][number] = { method: request.method, path: incoming.pathname + incoming.search, node: i };
        if (log.length < LOG_CAP) log.push(entry);
        const origin = backends[i]!.url;
        let res: Response;
        try {
          res = await fetch(origin + incoming.pathname + incoming.search, {
            method: request.method,
            headers,
            body: hasBody ? request.body : undefined,
            redirect: 'manual',
            decompress: false,
            signal: AbortSignal.timeout(timeoutMs),
          } as RequestInit);
        } catch (error) {
          // Refused: the node is gone. Nothing of the request reached it, so one without a body may go elsewhere.
          if (isRefused(error)) isDown[i] = true;
          if (isRefused(error) && !hasBody) continue;
          entry.status = 502;
          return new Response(`node ${i} failed: ${String(error)}\n`, { status: 502 });
        }
        entry.status = res.status;
        const out = new Headers(res.headers);
        for (const h of HOP_BY_HOP) out.delete(h);
        // The one header added: which node answered (tests group their measurements by it).
        out.set('x-balancer-node', String(i));
        const location = out.get('location');
        if (location?.startsWith(origin + '/')) out.set('location', own + location.slice(origin.length));
        const init = { status: res.status, statusText: res.statusText, headers: out };
        if (request.method === 'HEAD' || res.body === null) return new Response(null, init);
        // Bun 1.4.5 sends a streamed response chunked, without its Content-Length, which clients check on manifests:
        // bodies up to BUFFER_MAX are passed on whole, larger ones (blobs) stream.
        const length = Number(res.headers.get('content-length') ?? NaN);
        if (length <= BUFFER_MAX) return new Response(await res.arrayBuffer(), init);
        return new Response(res.body, init);
      }
      return new Response('no node is up\n', { status: 502 });
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port!,
    sent,
    log,
    down: (i) => void (isDown[i] = true),
    up: (i) => void (isDown[i] = false),
    stop: () => server.stop(true),
  };
}

function isRefused(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === 'ConnectionRefused' || code === 'ECONNREFUSED' || /Unable to connect|ECONNREFUSED|ConnectionRefused/i.test(String(error));
}

// `bun test/support/balancer.ts <node url>...`: a balancer for scripts (test/conformance/run.sh); prints its URL,
// runs until SIGTERM/SIGINT.
if (import.meta.main) {
  const urls = process.argv.slice(2);
  if (!urls.length || !urls.every((u) => /^http:\/\/127\.0\.0\.1:\d{1,5}$/.test(u))) {
    console.error('usage: bun test/support/balancer.ts http://127.0.0.1:<port>...');
    process.exit(2);
  }
  const balancer = startBalancer(urls.map((url) => ({ url })));
  console.log(balancer.url);
  const stop = () => void balancer.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
