/** A counting HTTP proxy: forwards every request to one upstream and counts blob requests and response bytes. */
import * as http from 'node:http';

/** What the proxy saw since the last reset. */
export interface ProxyCounts {
  /** All requests forwarded. */
  requests: number;
  /** GET requests whose path contains `/blobs/`. */
  blobGets: number;
  /** Response body bytes sent back for `/blobs/` requests. */
  blobBytes: number;
  /** `performance.now()` when the first blob body byte came back from the upstream (the harness's clock). */
  firstBlobByteAt?: number;
}

/** A running counting proxy (node:http, so streamed bodies keep their Content-Length). */
export class CountingProxy {
  private counts: ProxyCounts = { requests: 0, blobGets: 0, blobBytes: 0 };
  /** Upstream responses still streaming. */
  private active = 0;

  private constructor(
    private readonly server: http.Server,
    /** The port the proxy listens on (127.0.0.1). */
    readonly port: number,
  ) {}

  /** Starts a proxy to `http://127.0.0.1:<upstreamPort>` on a kernel-chosen port. */
  static async start(upstreamPort: number): Promise<CountingProxy> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    let self: CountingProxy | undefined;
    const server = http.createServer((req, res) => {
      const proxy = self!;
      const counts = proxy.counts;
      const blob = (req.url ?? '').includes('/blobs/');
      counts.requests++;
      if (blob && req.method === 'GET') counts.blobGets++;
      const headers = { ...req.headers, host: `127.0.0.1:${upstreamPort}` };
      const out = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers, agent }, (up) => {
        proxy.active++;
        up.once('close', () => proxy.active--);
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (blob)
          up.on('data', (chunk: Buffer) => {
            counts.firstBlobByteAt ??= performance.now();
            counts.blobBytes += chunk.byteLength;
          });
        up.pipe(res);
      });
      out.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
      req.pipe(out);
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
    self = new CountingProxy(server, port);
    return self;
  }

  /**
   * Waits until no upstream response is streaming (at most `timeoutMs`), so transfers a cache started in the
   * background (Distribution stores blobs with a second GET) land in the round that caused them.
   */
  async idle(timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.active > 0 && performance.now() < deadline) await Bun.sleep(10);
  }

  /** The counts so far, and zeroes them. */
  take(): ProxyCounts {
    const counts = this.counts;
    this.counts = { requests: 0, blobGets: 0, blobBytes: 0 };
    return counts;
  }

  /** Stops listening and drops open connections. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
