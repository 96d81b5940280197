/**
 * What a chunked upload costs on S3 blobs when its PATCHes switch workers. Two registries on one data directory
 * (host locks) and one bucket prefix stand for two `serve --workers` processes, against a SeaweedFS started here on
 * the same machine. `same`: every request to registry A; `switch`: PATCHes alternate A, B, A, …, so the PUT lands on
 * a process that did not see every chunk and hashes the finished object once from S3 instead of using the running
 * hash. Reports the whole upload (POST to the PUT's 201) and the PUT alone, median ± half the range over the rounds,
 * uploads of the two kinds interleaved. Requests go straight to `registry.fetch`.
 * Usage: bun bench/ab/s3-patch-switch.ts [--rounds 3] [--patches 16] [--chunk 1048576]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../../src/logger.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { createRegistry } from '../../src/registry.ts';
import { s3Storage } from '../../src/storage/s3-storage.ts';
import { startSeaweedFs } from '../../test/support/seaweedfs.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, patches: { type: 'string', default: '16' }, chunk: { type: 'string', default: '1048576' } } });
const rounds = Math.max(1, Math.min(100, Number(values.rounds)));
const patches = Math.max(2, Math.min(1000, Number(values.patches)));
const chunk = Math.max(1024, Math.min(16 * 1024 * 1024, Number(values.chunk)));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-ab-s3-switch-'));
const weed = await startSeaweedFs();
await weed.createBucket('switch');
const s3 = { bucket: 'switch', prefix: 'ab', endpoint: weed.endpoint, region: weed.region, accessKeyId: weed.accessKeyId, secretAccessKey: weed.secretAccessKey };
const logger = createLogger('silent');
const workers = [0, 1].map(() => createRegistry({ storage: s3Storage({ root: dir, s3, locks: 'host' }), logger }));
const base = 'http://ab.local/v2/ab/switch/blobs/uploads/';

/** One upload; returns [whole upload ms, PUT ms]. */
async function upload(switching: boolean): Promise<[number, number]> {
  const t0 = performance.now();
  const start = await workers[0]!.fetch(new Request(base, { method: 'POST' }));
  if (start.status !== 202) throw new Error(`POST answered ${start.status}`);
  let location = new URL(start.headers.get('location')!, base).href;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < patches; i++) {
    const bytes = crypto.getRandomValues(new Uint8Array(chunk));
    parts.push(bytes);
    const worker = workers[switching ? (i + 1) % 2 : 0]!;
    const headers = { 'content-type': 'application/octet-stream', 'content-range': `${i * chunk}-${(i + 1) * chunk - 1}`, 'content-length': String(chunk) };
    const res = await worker.fetch(new Request(location, { method: 'PATCH', headers, body: bytes }));
    if (res.status !== 202) throw new Error(`PATCH answered ${res.status}: ${await res.text()}`);
    location = new URL(res.headers.get('location')!, base).href;
  }
  const digest = digestOf(Buffer.concat(parts));
  const t1 = performance.now();
  const put = await workers[0]!.fetch(new Request(`${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, { method: 'PUT' }));
  if (put.status !== 201) throw new Error(`PUT answered ${put.status}: ${await put.text()}`);
  const t2 = performance.now();
  return [t2 - t0, t2 - t1];
}

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const median = s[Math.floor(s.length / 2)]!;
  return `${median.toFixed(0)} ms${s.length > 1 ? ` ±${(((s.at(-1)! - s[0]!) / median) * 50).toFixed(0)}%` : ''}`;
}

const results = { same: [] as [number, number][], switch: [] as [number, number][] };
try {
  await upload(false); // warm-up: SeaweedFS creates its volumes on the first writes
  for (let r = 0; r < rounds; r++) {
    results.same.push(await upload(false));
    results.switch.push(await upload(true));
  }
} finally {
  for (const w of workers) await w.close();
  await weed.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
const mib = (patches * chunk) / 2 ** 20;
process.stdout.write(`load average ${os.loadavg()[0]!.toFixed(2)}; ${patches} PATCHes of ${chunk} bytes (${mib} MiB), ${rounds} rounds, SeaweedFS on the same machine\n`);
for (const [name, xs] of Object.entries(results)) {
  process.stdout.write(`${name.padEnd(6)} whole upload ${summary(xs.map((x) => x[0]))}, PUT ${summary(xs.map((x) => x[1]))}\n`);
}
