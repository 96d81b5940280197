/**
 * The cost of a chunked-upload PATCH that lands on another worker than the previous one. Two registries on one data
 * directory with host locks stand for two `serve --workers` processes (each has its own in-memory upload sessions).
 * `same`: every PATCH to registry A; `switch`: PATCHes alternate A, B, A, … so each one finds its cached session
 * stale and re-hashes the partial file (O(bytes so far)). Uploads interleaved; requests straight to `registry.fetch`.
 * Usage: bun bench/ab/patch-switch.ts [--rounds 10] [--patches 16] [--chunk 1048576]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../../src/logger.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { createRegistry } from '../../src/registry.ts';
import { fsStorage } from '../../src/storage/storage.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, patches: { type: 'string', default: '16' }, chunk: { type: 'string', default: '1048576' } } });
const rounds = Math.min(1000, Number(values.rounds));
const patches = Math.min(1000, Number(values.patches));
const chunk = Math.min(16 * 1024 * 1024, Number(values.chunk));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-ab-switch-'));
const logger = createLogger('silent');
const workers = [0, 1].map(() => createRegistry({ storage: fsStorage({ root: dir, sync: false, locks: 'host' }), logger }));
const base = 'http://ab.local/v2/ab/switch/blobs/uploads/';

/** One upload; returns each PATCH's latency (ms), indexed by PATCH number. */
async function upload(switching: boolean): Promise<number[]> {
  const start = await workers[0]!.fetch(new Request(base, { method: 'POST' }));
  if (start.status !== 202) throw new Error(`POST answered ${start.status}`);
  let location = new URL(start.headers.get('location')!, base).href;
  const bytes = crypto.getRandomValues(new Uint8Array(chunk));
  const times: number[] = [];
  for (let i = 0; i < patches; i++) {
    const worker = workers[switching ? i % 2 : 0]!;
    const headers = { 'content-type': 'application/octet-stream', 'content-range': `${i * chunk}-${(i + 1) * chunk - 1}`, 'content-length': String(chunk) };
    const t0 = performance.now();
    const res = await worker.fetch(new Request(location, { method: 'PATCH', headers, body: bytes }));
    times.push(performance.now() - t0);
    if (res.status !== 202) throw new Error(`PATCH answered ${res.status}: ${await res.text()}`);
    location = new URL(res.headers.get('location')!, base).href;
  }
  const all = new Uint8Array(chunk * patches);
  for (let i = 0; i < patches; i++) all.set(bytes, i * chunk);
  const put = await workers[switching ? patches % 2 : 0]!.fetch(new Request(`${location}${location.includes('?') ? '&' : '?'}digest=${digestOf(all)}`, { method: 'PUT' }));
  if (put.status !== 201) throw new Error(`PUT answered ${put.status}: ${await put.text()}`);
  return times;
}

const samples = { same: [] as number[][], switch: [] as number[][] };
await upload(false);
await upload(true); // warm-up, not counted
for (let r = 0; r < rounds; r++) {
  for (const switching of r % 2 ? [true, false] : [false, true]) samples[switching ? 'switch' : 'same'].push(await upload(switching));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const at = (runs: number[][], i: number) => mean(runs.map((t) => t[i]!));
console.log(`PATCH of ${chunk} B, ${patches} per upload, ${rounds} uploads per variant, ${os.cpus().length} cpus, load ${os.loadavg()[0]!.toFixed(2)}`);
console.log('| PATCH # (bytes before it) | same worker ms | switching worker ms |');
console.log('| --- | ---: | ---: |');
for (const i of [1, 3, 7, 15, patches - 1].filter((i, k, a) => i < patches && a.indexOf(i) === k)) {
  console.log(`| ${i + 1} (${((i * chunk) / 1048576).toFixed(0)} MiB) | ${at(samples.same, i).toFixed(2)} | ${at(samples.switch, i).toFixed(2)} |`);
}
console.log(`| mean of all | ${mean(samples.same.flat()).toFixed(2)} | ${mean(samples.switch.flat()).toFixed(2)} |`);
for (const w of workers) await w.close();
fs.rmSync(dir, { recursive: true, force: true });
