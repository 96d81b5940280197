/**
 * A/B of a chunked upload's PATCH with in-process locks (`fsStorage({ locks: 'process' })`) against host locks
 * (`'host'`, rows in locks.sqlite), in one process: two registries on two data directories, rounds interleaved so
 * that drift of a shared machine hits both alike. Requests go straight to `registry.fetch` (no sockets), so the
 * difference is the server's own cost; `--http` sends them over loopback HTTP instead (what a client sees).
 * Usage: bun bench/ab/patch-locks.ts [--rounds 40] [--patches 50] [--chunk 65536] [--http]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../../src/logger.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { createRegistry, type Registry } from '../../src/registry.ts';
import { fsStorage } from '../../src/storage/storage.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '40' }, patches: { type: 'string', default: '50' }, chunk: { type: 'string', default: '65536' }, http: { type: 'boolean', default: false } } });
const rounds = Math.min(1000, Number(values.rounds));
const patches = Math.min(1000, Number(values.patches));
const chunk = Math.min(16 * 1024 * 1024, Number(values.chunk));
const path0 = '/v2/ab/patch/blobs/uploads/';

const variants = (['process', 'host'] as const).map((locks) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `marina-ab-${locks}-`));
  const registry = createRegistry({ storage: fsStorage({ root: dir, locks }), logger: createLogger('silent') });
  const server = values.http ? Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: registry.fetch }) : undefined;
  const base = server ? `http://127.0.0.1:${server.port}${path0}` : `http://ab.local${path0}`;
  const send = server ? (request: Request) => fetch(request) : registry.fetch;
  return { locks, dir, registry, server, base, send, samples: [] as number[] };
});

/** One chunked upload of `patches` chunks; returns each PATCH's latency (ms). */
async function upload({ send, base }: { send: Registry['fetch']; base: string }): Promise<number[]> {
  const start = await send(new Request(base, { method: 'POST' }));
  if (start.status !== 202) throw new Error(`POST answered ${start.status}`);
  let location = new URL(start.headers.get('location')!, base).href;
  const bytes = crypto.getRandomValues(new Uint8Array(chunk));
  const times: number[] = [];
  for (let i = 0; i < patches; i++) {
    const headers = { 'content-type': 'application/octet-stream', 'content-range': `${i * chunk}-${(i + 1) * chunk - 1}`, 'content-length': String(chunk) };
    const t0 = performance.now();
    const res = await send(new Request(location, { method: 'PATCH', headers, body: bytes }));
    times.push(performance.now() - t0);
    if (res.status !== 202) throw new Error(`PATCH answered ${res.status}: ${await res.text()}`);
    location = new URL(res.headers.get('location')!, base).href;
  }
  const all = new Uint8Array(chunk * patches);
  for (let i = 0; i < patches; i++) all.set(bytes, i * chunk);
  const put = await send(new Request(`${location}${location.includes('?') ? '&' : '?'}digest=${digestOf(all)}`, { method: 'PUT' }));
  if (put.status !== 201) throw new Error(`PUT answered ${put.status}: ${await put.text()}`);
  return times;
}

for (const v of variants) await upload(v); // warm-up, not counted
for (let r = 0; r < rounds; r++) {
  for (const v of r % 2 ? [...variants].reverse() : variants) v.samples.push(...(await upload(v)));
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
console.log(`PATCH of ${chunk} B ${values.http ? 'over loopback HTTP' : 'to registry.fetch'}, ${rounds} uploads × ${patches} PATCHes per variant, ${os.cpus().length} cpus, load ${os.loadavg()[0]!.toFixed(2)}`);
console.log('| locks | mean µs | p50 µs | p90 µs | p99 µs |');
console.log('| --- | ---: | ---: | ---: | ---: |');
const rows = variants.map((v) => {
  const s = [...v.samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  console.log(`| ${v.locks} | ${(mean * 1000).toFixed(0)} | ${(pct(s, 50) * 1000).toFixed(0)} | ${(pct(s, 90) * 1000).toFixed(0)} | ${(pct(s, 99) * 1000).toFixed(0)} |`);
  return { mean, p50: pct(s, 50) };
});
console.log(`host − process: mean ${((rows[1]!.mean - rows[0]!.mean) * 1000).toFixed(0)} µs (${(((rows[1]!.mean / rows[0]!.mean) - 1) * 100).toFixed(1)} %), p50 ${((rows[1]!.p50 - rows[0]!.p50) * 1000).toFixed(0)} µs (${(((rows[1]!.p50 / rows[0]!.p50) - 1) * 100).toFixed(1)} %)`);
for (const v of variants) {
  v.server?.stop(true);
  await v.registry.close();
  fs.rmSync(v.dir, { recursive: true, force: true });
}
