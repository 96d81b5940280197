/**
 * A/B of a manifest GET by tag, in one process, rounds interleaved: `before` (the registry of another checkout, e.g.
 * the commit before the cross-process read cache: `git worktree add /tmp/marina-before <commit>`), `after` (this
 * checkout, one process: what `serve` runs with --workers 1) and `after-workers` (this checkout with host locks
 * and a fresh LMDB snapshot per request: what each `serve --workers N` process runs). Requests go straight to
 * `registry.fetch` (no sockets), so differences are the server's own cost.
 * Usage: bun bench/ab/manifest-workers.ts --before /tmp/marina-before [--rounds 30] [--gets 2000]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../../src/logger.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { createRegistry } from '../../src/registry.ts';
import { fsStorage } from '../../src/storage/storage.ts';
import { LmdbIndex } from '../../src/storage/lmdb-index.ts';

const { values } = parseArgs({ options: { before: { type: 'string' }, rounds: { type: 'string', default: '30' }, gets: { type: 'string', default: '2000' } } });
if (!values.before) throw new Error('--before <checkout> is required');
const rounds = Math.min(1000, Number(values.rounds));
const gets = Math.min(100_000, Number(values.gets));
const old = {
  createRegistry: (await import(path.resolve(values.before, 'src/registry.ts'))).createRegistry as typeof createRegistry,
  fsStorage: (await import(path.resolve(values.before, 'src/storage/storage.ts'))).fsStorage as typeof fsStorage,
};

type Fetch = (request: Request) => Response | Promise<Response>;
const make = (name: string, build: (dir: string) => { fetch: Fetch; close(): Promise<void> }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `marina-ab-${name}-`));
  return { name, dir, ...build(dir), samples: [] as number[] };
};
const logger = createLogger('silent');
const variants = [
  make('before', (dir) => old.createRegistry({ storage: old.fsStorage({ root: dir, sync: false }), logger })),
  // The same code twice: how far apart two identical variants land on this machine right now (the noise floor).
  make('before-again', (dir) => old.createRegistry({ storage: old.fsStorage({ root: dir, sync: false }), logger })),
  make('after', (dir) => createRegistry({ storage: fsStorage({ root: dir, sync: false }), logger })),
  make('after-workers', (dir) => {
    const registry = createRegistry({ storage: fsStorage({ root: dir, sync: false, locks: 'host' }), logger });
    const index = registry.storage.index as LmdbIndex;
    return { fetch: (r: Request) => (index.refresh(), registry.fetch(r)), close: () => registry.close() };
  }),
];

const base = 'http://ab.local/v2/ab/manifest';
const config = new TextEncoder().encode('{"architecture":"amd64","os":"linux"}');
const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.byteLength }, layers: [] });
for (const v of variants) {
  const blob = await v.fetch(new Request(`${base}/blobs/uploads/?digest=${digestOf(config)}`, { method: 'POST', body: config }));
  const put = await v.fetch(new Request(`${base}/manifests/latest`, { method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } }));
  if (blob.status !== 201 || put.status !== 201) throw new Error(`${v.name}: push answered ${blob.status}/${put.status}`);
}

async function round(v: (typeof variants)[number]): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < gets; i++) {
    const res = await v.fetch(new Request(`${base}/manifests/latest`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } }));
    if (res.status !== 200) throw new Error(`${v.name}: GET answered ${res.status}`);
    await res.arrayBuffer();
  }
  return ((performance.now() - t0) * 1000) / gets;
}

for (const v of variants) await round(v); // warm-up, not counted
for (let r = 0; r < rounds; r++) for (const v of r % 2 ? [...variants].reverse() : variants) v.samples.push(await round(v));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`manifest GET by tag to registry.fetch, ${rounds} rounds × ${gets} GETs per variant, ${os.cpus().length} cpus, load ${os.loadavg()[0]!.toFixed(2)}`);
console.log('| variant | median of round means µs/GET | best round µs/GET | vs before |');
console.log('| --- | ---: | ---: | ---: |');
const ref = median(variants[0]!.samples);
for (const v of variants) {
  const m = median(v.samples);
  console.log(`| ${v.name} | ${m.toFixed(2)} | ${Math.min(...v.samples).toFixed(2)} | ${(((m / ref) - 1) * 100).toFixed(1)} % |`);
}
for (const v of variants) {
  await v.close();
  fs.rmSync(v.dir, { recursive: true, force: true });
}
