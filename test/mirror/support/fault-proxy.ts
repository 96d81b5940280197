import * as http from 'node:http';

/**
 * A fault-injecting HTTP proxy in front of a real registry (an in-process Marina or CNCF Distribution), on
 * 127.0.0.1 only. It records every request (method, path, Range, Authorization) and can, on demand: be killed and
 * revived on the same port, delay answers, answer 429 with Retry-After, add Docker Hub's ratelimit-remaining,
 * serve wrong bytes for a blob, cut the connection in the middle of a blob, throttle blob bodies, and demand
 * Bearer token auth with its own token endpoint (`/token`, Basic credentials checked there). As a hostile upstream it
 * can also stall manifest bodies, announce huge manifests, send endless blobs, point Link and redirects elsewhere,
 * and put its own text into error bodies.
 *
 * It is a node:http server because Bun.serve sends every streamed body chunked (it drops a handler's
 * Content-Length), and a mirror must see the upstream's Content-Length exactly as a real registry sends it.
 */

/** One request as the proxy saw it. */
export interface SeenRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: string;
  range: string | null;
  authorization: string | null;
}

/** Faults; change them between requests (they are read per request). */
export interface Faults {
  /** Wait this long before answering anything. */
  delayMs?: number;
  /** Answer every /v2/ request with 429 and this Retry-After (seconds). */
  tooManyRequests?: { retryAfterSeconds: number };
  /** Add `ratelimit-remaining: <n>;w=21600` (Docker Hub's header) to every answer. */
  rateLimitRemaining?: number;
  /** Serve this blob with its last byte changed (same length, wrong digest). */
  corruptBlob?: string;
  /** Cut the connection of this blob's next `times` full GETs after `afterBytes` bytes. */
  resetBlob?: { digest: string; afterBytes: number; times: number };
  /** Send `afterBytes` of this blob's next `times` full GETs, then nothing more (the connection stays open). */
  stallBlob?: { digest: string; afterBytes: number; times: number };
  /** Send blob bodies at about this many bytes per second. */
  blobBytesPerSecond?: number;
  /** Hostile: manifest GETs send their headers and `afterBytes` of the body, then nothing (the connection stays open). */
  stallManifest?: { afterBytes: number };
  /** Hostile: manifest GETs announce this Content-Length (or none: chunked) and then send zeros without end. */
  hugeManifest?: { announce?: number };
  /** Hostile: this blob's GETs answer 200 without Content-Length and send random bytes without end. */
  endlessBlob?: string;
  /** Hostile: tags/list answers carry `Link: <url>; rel="next"`. */
  tagsLink?: string;
  /** Hostile: this blob's GETs answer 302 to `location`. */
  redirectBlob?: { digest: string; location: string };
  /** Hostile: every repository request is answered with this status and a spec error body carrying `message`. */
  errorBody?: { status: number; code: string; message: string };
}

/** Auth demanded by the proxy: Bearer tokens from its `/token` endpoint (the default), or plain Basic. */
export interface TokenAuth {
  scheme?: 'bearer' | 'basic';
  username: string;
  password: string;
  /** Token lifetime in seconds, as `expires_in`. @default 300 */
  expiresIn?: number;
  /** Realm URL to advertise; defaults to the proxy's own `/token`. */
  realm?: string;
}

/** A running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  faults: Faults;
  auth: TokenAuth | undefined;
  /** Every request so far (token requests included). */
  requests: SeenRequest[];
  /** Body bytes sent by the hostile faults (endless blob, huge manifest) so far. */
  hostileBytesSent: number;
  /** Requests matching a predicate. */
  count(match: (r: SeenRequest) => boolean): number;
  /** Full and ranged GETs of one blob. */
  blobGets(digest: string): SeenRequest[];
  /** Requests for manifests (any method) of a repository. */
  manifestRequests(repository: string): SeenRequest[];
  /** Forgets recorded requests. */
  reset(): void;
  /** Stops listening and drops open connections: the upstream is gone (connection refused). */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  revive(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a proxy forwarding to `target` (e.g. `http://127.0.0.1:5000`). */
export async function startFaultProxy(target: string, options: { auth?: TokenAuth } = {}): Promise<FaultProxy> {
  const requests: SeenRequest[] = [];
  const tokens = new Set<string>();
  let server: http.Server | undefined;
  let port = 0;

  const proxy: FaultProxy = {
    url: '',
    port: 0,
    faults: {},
    auth: options.auth,
    requests,
    hostileBytesSent: 0,
    count: (match) => requests.filter(match).length,
    blobGets: (digest) => requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${digest}`)),
    manifestRequests: (repository) => requests.filter((r) => r.path.startsWith(`/v2/${repository}/manifests/`)),
    reset: () => void requests.splice(0),
    async kill() {
      const s = server;
      server = undefined;
      if (!s) return;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeAllConnections();
      await closed;
    },
    revive: () => (server ? Promise.resolve() : listen()),
    stop: () => proxy.kill(),
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const header = (name: string) => {
      const v = req.headers[name];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    };
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.search, range: header('range'), authorization: header('authorization') });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const faults = proxy.faults;
    if (faults.delayMs) await Bun.sleep(faults.delayMs);
    const extra: Record<string, string> = {};
    if (faults.rateLimitRemaining !== undefined) extra['ratelimit-remaining'] = `${faults.rateLimitRemaining};w=21600`;
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      const bytes = Buffer.from(JSON.stringify(value));
      res.writeHead(status, { ...extra, ...headers, 'content-type': 'application/json', 'content-length': String(bytes.byteLength) });
      res.end(req.method === 'HEAD' ? undefined : bytes);
    };

    if (url.pathname === '/token') {
      const auth = proxy.auth;
      if (!auth) return json(404, { details: 'no token service' });
      if (header('authorization') !== `Basic ${btoa(`${auth.username}:${auth.password}`)}`) return json(401, { details: 'bad credentials' });
      const value = `tok-${crypto.randomUUID()}`;
      tokens.add(value);
      return json(200, { token: value, expires_in: auth.expiresIn ?? 300 });
    }
    if (faults.tooManyRequests && url.pathname.startsWith('/v2/')) {
      return json(429, { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }, { 'retry-after': String(faults.tooManyRequests.retryAfterSeconds) });
    }
    const auth = proxy.auth;
    if (auth?.scheme === 'basic' && url.pathname.startsWith('/v2/')) {
      if (header('authorization') !== `Basic ${btoa(`${auth.username}:${auth.password}`)}`) {
        return json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, { 'www-authenticate': 'Basic realm="fault-proxy"' });
      }
    } else if (auth && url.pathname.startsWith('/v2/')) {
      const given = header('authorization') ?? '';
      if (!given.startsWith('Bearer ') || !tokens.has(given.slice(7))) {
        const repo = /^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers)\//.exec(url.pathname)?.[1];
        const scope = repo ? `,scope="repository:${repo}:pull"` : '';
        const realm = auth.realm ?? `${proxy.url}/token`;
        return json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, { 'www-authenticate': `Bearer realm="${realm}",service="fault-proxy"${scope}` });
      }
    }

    if (url.pathname.startsWith('/v2/') && (await hostile(req, res, url, faults))) return;

    const forward = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || ['host', 'authorization', 'connection', 'content-length'].includes(k)) continue;
      forward.set(k, Array.isArray(v) ? v.join(', ') : v);
    }
    let upstream: Response;
    try {
      upstream = await fetch(`${target}${url.pathname}${url.search}`, {
        method: req.method,
        headers: forward,
        body: chunks.length ? Buffer.concat(chunks) : undefined,
        redirect: 'manual',
        decompress: false,
      } as RequestInit);
    } catch (error) {
      return json(502, { errors: [{ code: 'UNKNOWN', message: `fault proxy: ${String(error)}` }] });
    }
    const out: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (!['transfer-encoding', 'connection', 'content-encoding', 'keep-alive', 'date'].includes(k)) out[k] = v;
    });
    Object.assign(out, extra);
    if (faults.tagsLink && url.pathname.endsWith('/tags/list')) out.link = `<${faults.tagsLink}>; rel="next"`;
    const stallManifest = faults.stallManifest && req.method === 'GET' && /\/manifests\/[^/]+$/.test(url.pathname) && upstream.ok ? faults.stallManifest : undefined;
    res.writeHead(upstream.status, out);
    if (stallManifest) {
      const whole = new Uint8Array(await upstream.arrayBuffer());
      await write(res, whole.subarray(0, stallManifest.afterBytes));
      if (!res.destroyed) await new Promise((resolve) => res.once('close', resolve));
      return;
    }
    if (req.method === 'HEAD' || !upstream.body) {
      await upstream.body?.cancel();
      res.end();
      return;
    }
    const blob = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname)?.[1];
    const isBlobBody = blob !== undefined && req.method === 'GET' && upstream.status < 300;
    const size = Number(upstream.headers.get('content-length'));
    const corrupt = isBlobBody && faults.corruptBlob === blob;
    const reset = faults.resetBlob;
    let cutAt = Infinity;
    if (isBlobBody && reset && reset.digest === blob && reset.times > 0 && header('range') === null) {
      reset.times--;
      cutAt = reset.afterBytes;
    }
    const stall = faults.stallBlob;
    let stallAt = Infinity;
    if (isBlobBody && stall && stall.digest === blob && stall.times > 0 && header('range') === null) {
      stall.times--;
      stallAt = stall.afterBytes;
    }
    const rate = isBlobBody ? faults.blobBytesPerSecond : undefined;
    // A throttled body arrives in pieces of a tenth of a second's worth, so a slow one trickles rather than pauses.
    const piece = rate ? Math.min(256 * 1024, Math.max(512, Math.floor(rate / 10))) : 256 * 1024;
    const started = performance.now();
    let sent = 0;
    for await (const whole of upstream.body) {
      for (let at = 0; at < whole.byteLength; at += piece) {
        let chunk = whole.subarray(at, Math.min(whole.byteLength, at + piece));
        if (corrupt && sent + chunk.byteLength === size) {
          chunk = chunk.slice();
          chunk[chunk.byteLength - 1]! ^= 0xff;
        }
        if (sent + chunk.byteLength >= stallAt) {
          await write(res, chunk.subarray(0, stallAt - sent));
          // Silent until the client gives up (or the proxy is stopped).
          if (!res.destroyed) await new Promise((resolve) => res.once('close', resolve));
          return;
        }
        if (sent + chunk.byteLength >= cutAt) {
          await write(res, chunk.subarray(0, cutAt - sent));
          // Let the bytes reach the socket before the connection drops.
          await Bun.sleep(20);
          res.destroy();
          return;
        }
        if (rate) {
          const wait = started + (sent / rate) * 1000 - performance.now();
          if (wait > 1) await Bun.sleep(wait);
        }
        if (res.destroyed) return;
        await write(res, chunk);
        sent += chunk.byteLength;
      }
    }
    res.end();
  }

  /** Answers a request with a hostile fault, if one applies; true when it did. */
  async function hostile(req: http.IncomingMessage, res: http.ServerResponse, url: URL, faults: Faults): Promise<boolean> {
    const isGet = req.method === 'GET';
    const manifest = /\/manifests\/[^/]+$/.test(url.pathname);
    const blob = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname)?.[1];
    if (faults.errorBody && /\/(manifests|blobs|tags)\//.test(url.pathname)) {
      const { status, code, message } = faults.errorBody;
      const bytes = Buffer.from(JSON.stringify({ errors: [{ code, message }] }));
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(bytes.byteLength) });
      res.end(req.method === 'HEAD' ? undefined : bytes);
      return true;
    }
    if (isGet && manifest && faults.hugeManifest) {
      const headers: Record<string, string> = { 'content-type': 'application/vnd.oci.image.manifest.v1+json' };
      if (faults.hugeManifest.announce !== undefined) headers['content-length'] = String(faults.hugeManifest.announce);
      res.writeHead(200, headers);
      await sendForever(res, () => new Uint8Array(64 * 1024));
      return true;
    }
    if (isGet && blob !== undefined && blob === faults.endlessBlob) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      await sendForever(res, () => crypto.getRandomValues(new Uint8Array(64 * 1024)));
      return true;
    }
    if (isGet && blob !== undefined && faults.redirectBlob?.digest === blob) {
      res.writeHead(302, { location: faults.redirectBlob.location, 'content-length': '0' });
      res.end();
      return true;
    }
    return false;
  }

  /** Writes chunks until the client goes away (bounded by the client, which is what the test checks). */
  async function sendForever(res: http.ServerResponse, chunk: () => Uint8Array): Promise<void> {
    while (!res.destroyed && !res.writableEnded) {
      const bytes = chunk();
      await write(res, bytes);
      proxy.hostileBytesSent += bytes.byteLength;
      // Yield so a closed socket is noticed.
      await Bun.sleep(0);
    }
  }

  function listen(): Promise<void> {
    const s = http.createServer((req, res) => {
      handle(req, res).catch(() => res.destroy());
    });
    server = s;
    return new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        proxy.port = port;
        proxy.url = `http://127.0.0.1:${port}`;
        resolve();
      });
    });
  }
  await listen();
  return proxy;
}

async function write(res: http.ServerResponse, chunk: Uint8Array): Promise<void> {
  if (res.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
