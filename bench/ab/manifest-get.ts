/**
 * The server-side cost of a manifest GET and HEAD by tag, in one process, rounds interleaved: `limit` (the bench's
 * in-memory Bun.serve handler: a Map lookup and a Response), `marina` (this checkout's `registry.fetch` with the
 * observer `serve` installs: request id, metrics), and with `--before DIR` the same from another checkout. No
 * sockets: the differences are the handlers' own cost, which is what separates Marina from the limit over HTTP
 * (Bun's HTTP parsing and writing cost both the same).
 * Usage: bun bench/ab/manifest-get.ts [--before DIR] [--rounds 20] [--gets 20000]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { before: { type: 'string' }, rounds: { type: 'string', default: '20' }, gets: { type: 'string', default: '20000' } } });
const rounds = Math.min(1000, Number(values.rounds));
const gets = Math.min(1_000_000, Number(values.gets));
const MEDIA = 'application/vnd.oci.image.manifest.v1+json';

type Fetch = (request: Request) => Response | Promise<Response>;
interface Variant {
  name: string;
  fetch: Fetch;
  close(): Promise<void>;
  samples: { GET: number[]; HEAD: number[] };
}

/** A registry as `marina serve` builds it (observer with metrics, access log off), from the checkout at `root`. */
async function marina(name: string, root: string): Promise<Variant> {
  const imp = (p: string) => import(path.resolve(root, p));
  const { createRegistry } = await imp('src/registry.ts');
  const { fsStorage } = await imp('src/storage/storage.ts');
  const { createLogger } = await imp('src/logger.ts');
  const { createObserver } = await imp('src/ops/observer.ts');
  const { Metrics } = await imp('src/ops/metrics.ts');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `marina-ab-${name}-`));
  const logger = createLogger('silent');
  const observer = createObserver(logger, new Metrics({ dataDir: dir, openUploads: () => 0 }), { accessLog: false });
  const registry = createRegistry({ storage: fsStorage({ root: dir, sync: false }), logger, observer });
  return { name, fetch: (r) => registry.fetch(r), close: () => registry.close().then(() => fs.rmSync(dir, { recursive: true, force: true })), samples: { GET: [], HEAD: [] } };
}

/** The limit server's manifest handler (bench/targets/limit-server.ts), over the same bytes. */
function limit(): Variant {
  const manifests = new Map<string, { bytes: Uint8Array; mediaType: string; digest: string }>();
  return {
    name: 'limit',
    async fetch(req) {
      const url = req.url;
      const slash = url.indexOf('/', url.indexOf('//') + 2);
      const q = url.indexOf('?', slash);
      const pathname = q < 0 ? url.slice(slash) : url.slice(slash, q);
      const at = pathname.lastIndexOf('/manifests/');
      const repo = pathname.slice(4, at);
      const reference = pathname.slice(at + '/manifests/'.length);
      if (req.method === 'PUT') {
        const bytes = new Uint8Array(await req.arrayBuffer());
        const digest = `sha256:${new Bun.CryptoHasher('sha256').update(bytes).digest('hex')}`;
        manifests.set(`${repo}@${reference}`, { bytes, mediaType: req.headers.get('content-type') ?? '', digest });
        return new Response(null, { status: 201 });
      }
      if (req.method === 'POST') return new Response(null, { status: 201 });
      const m = manifests.get(`${repo}@${reference}`);
      if (!m) return new Response(null, { status: 404 });
      const headers = { 'Content-Type': m.mediaType, 'Docker-Content-Digest': m.digest, 'Content-Length': String(m.bytes.length) };
      return new Response(req.method === 'HEAD' ? null : m.bytes, { headers });
    },
    close: async () => {},
    samples: { GET: [], HEAD: [] },
  };
}

const variants: Variant[] = [limit(), await marina('marina', path.resolve(import.meta.dir, '../..'))];
if (values.before) variants.push(await marina('before', values.before));

const base = 'http://ab.local/v2/ab/manifest';
const config = new TextEncoder().encode('{"architecture":"amd64","os":"linux"}');
const configDigest = `sha256:${new Bun.CryptoHasher('sha256').update(config).digest('hex')}`;
// About 1 KiB, like the harness's manifest.
const manifest = JSON.stringify({
  schemaVersion: 2,
  mediaType: MEDIA,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.byteLength },
  layers: [],
  annotations: { 'org.opencontainers.image.description': 'x'.repeat(700) },
});
for (const v of variants) {
  const blob = await v.fetch(new Request(`${base}/blobs/uploads/?digest=${configDigest}`, { method: 'POST', body: config }));
  const put = await v.fetch(new Request(`${base}/manifests/latest`, { method: 'PUT', body: manifest, headers: { 'content-type': MEDIA } }));
  if (blob.status !== 201 || put.status !== 201) throw new Error(`${v.name}: push answered ${blob.status}/${put.status}`);
}

// Requests as a client sends them; built outside the timed loop (Bun builds them from the socket in C++).
const requests = (method: string) => Array.from({ length: gets }, () => new Request(`${base}/manifests/latest`, { method, headers: { accept: MEDIA, 'user-agent': 'ab' } }));

async function round(v: Variant, method: 'GET' | 'HEAD'): Promise<void> {
  const batch = requests(method);
  const t0 = performance.now();
  for (const request of batch) {
    const res = await v.fetch(request);
    if (res.status !== 200) throw new Error(`${v.name}: ${method} answered ${res.status}`);
    // What the server does with the headers when it writes them.
    for (const _ of res.headers) void _;
  }
  v.samples[method].push(((performance.now() - t0) * 1000) / gets);
}

for (const v of variants) for (const m of ['GET', 'HEAD'] as const) await round(v, m); // warm-up
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? variants : [...variants].reverse();
  for (const m of ['GET', 'HEAD'] as const) for (const v of order) await round(v, m);
}

const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, lo: s[Math.floor(s.length * 0.1)]!, hi: s[Math.ceil(s.length * 0.9) - 1]! };
};
console.log(`manifest GET/HEAD by tag, in-process, ${rounds} rounds × ${gets}, load ${os.loadavg()[0]!.toFixed(2)}`);
console.log('| variant | GET µs [p10–p90] | HEAD µs [p10–p90] |');
console.log('| --- | ---: | ---: |');
for (const v of variants) {
  const g = stat(v.samples.GET);
  const h = stat(v.samples.HEAD);
  console.log(`| ${v.name} | ${g.median.toFixed(2)} [${g.lo.toFixed(2)}–${g.hi.toFixed(2)}] | ${h.median.toFixed(2)} [${h.lo.toFixed(2)}–${h.hi.toFixed(2)}] |`);
}
for (const v of variants) await v.close();
