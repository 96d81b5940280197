/**
 * A/B of the LMDB hot path around the asynchronous storage contracts (issue 11 part 1), in one process, rounds
 * interleaved: `before` (the registry of another checkout, e.g. main before the change: `git archive <commit> | tar -x
 * -C /tmp/marina-before && ln -s $PWD/node_modules /tmp/marina-before/`), `before-again` (the same code a second time:
 * the noise floor of this machine right now) and `after` (this checkout). Requests go straight to `registry.fetch`
 * (no sockets): manifest GET by tag and by digest, blob HEAD and blob GET of a small blob. Each round records the
 * process's CPU time per request (user + system: what other processes on a shared machine disturb least) and its
 * wall time.
 * Usage: bun bench/ab/async-reads.ts --before /tmp/marina-before [--rounds 20] [--requests 1000]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../../src/logger.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { createRegistry } from '../../src/registry.ts';
import { fsStorage } from '../../src/storage/storage.ts';

const { values } = parseArgs({ options: { before: { type: 'string' }, rounds: { type: 'string', default: '20' }, requests: { type: 'string', default: '1000' } } });
if (!values.before) throw new Error('--before <checkout> is required');
const rounds = Math.min(1000, Number(values.rounds));
const requests = Math.min(100_000, Number(values.requests));
const old = {
  createRegistry: (await import(path.resolve(values.before, 'src/registry.ts'))).createRegistry as typeof createRegistry,
  fsStorage: (await import(path.resolve(values.before, 'src/storage/storage.ts'))).fsStorage as typeof fsStorage,
};

type Fetch = (request: Request) => Response | Promise<Response>;
const logger = createLogger('silent');
const make = (name: string, build: (dir: string) => { fetch: Fetch; close(): Promise<void> }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `marina-ab-${name}-`));
  return { name, dir, ...build(dir) };
};
const variants = [
  make('before', (dir) => old.createRegistry({ storage: old.fsStorage({ root: dir, sync: false }), logger })),
  make('before-again', (dir) => old.createRegistry({ storage: old.fsStorage({ root: dir, sync: false }), logger })),
  make('after', (dir) => createRegistry({ storage: fsStorage({ root: dir, sync: false }), logger })),
];

const base = 'http://ab.local/v2/ab/image';
const config = new TextEncoder().encode('{"architecture":"amd64","os":"linux"}');
const layer = new TextEncoder().encode('a small layer '.repeat(64));
const manifest = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.byteLength },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.byteLength }],
});
const manifestDigest = digestOf(manifest);
for (const v of variants) {
  for (const blob of [config, layer]) {
    const res = await v.fetch(new Request(`${base}/blobs/uploads/?digest=${digestOf(blob)}`, { method: 'POST', body: blob }));
    if (res.status !== 201) throw new Error(`${v.name}: blob push answered ${res.status}`);
  }
  const put = await v.fetch(new Request(`${base}/manifests/latest`, { method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } }));
  if (put.status !== 201) throw new Error(`${v.name}: manifest push answered ${put.status}`);
}

const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
const kinds = [
  { name: 'manifest GET by tag', url: `${base}/manifests/latest`, method: 'GET', headers: accept },
  { name: 'manifest GET by digest', url: `${base}/manifests/${manifestDigest}`, method: 'GET', headers: accept },
  { name: 'blob HEAD', url: `${base}/blobs/${digestOf(layer)}`, method: 'HEAD', headers: {} },
  { name: 'blob GET', url: `${base}/blobs/${digestOf(layer)}`, method: 'GET', headers: {} },
];
const samples = new Map<string, { cpu: number[]; wall: number[] }>();

/** CPU and wall µs per request over one round. */
async function round(v: (typeof variants)[number], kind: (typeof kinds)[number]): Promise<{ cpu: number; wall: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < requests; i++) {
    const res = await v.fetch(new Request(kind.url, { method: kind.method, headers: kind.headers }));
    if (res.status !== 200) throw new Error(`${v.name}: ${kind.name} answered ${res.status}`);
    await res.arrayBuffer();
  }
  const wall = ((performance.now() - t0) * 1000) / requests;
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / requests, wall };
}

for (const kind of kinds) for (const v of variants) await round(v, kind); // warm-up, not counted
for (let r = 0; r < rounds; r++) {
  for (const kind of kinds) {
    for (const v of r % 2 ? [...variants].reverse() : variants) {
      const key = `${kind.name}|${v.name}`;
      const s = samples.get(key) ?? { cpu: [], wall: [] };
      const { cpu, wall } = await round(v, kind);
      s.cpu.push(cpu);
      s.wall.push(wall);
      samples.set(key, s);
    }
  }
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)]!;
const quartiles = (xs: number[]) => [sorted(xs)[Math.floor(xs.length / 4)]!, sorted(xs)[Math.floor((3 * xs.length) / 4)]!];
console.log(`registry.fetch in one process, ${rounds} interleaved rounds × ${requests} requests per kind and variant, ${os.cpus().length} cpus, load ${os.loadavg()[0]!.toFixed(2)}`);
// Paired: each round's variant against `before` in the same round, so drifts of the machine's load cancel out.
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
console.log('| request | variant | CPU µs/req (median) | CPU vs before, paired by round: median [quartiles] | wall µs/req (median) | wall vs before, paired: median [quartiles] |');
console.log('| --- | --- | ---: | ---: | ---: | ---: |');
for (const kind of kinds) {
  const ref = samples.get(`${kind.name}|before`)!;
  for (const v of variants) {
    const { cpu, wall } = samples.get(`${kind.name}|${v.name}`)!;
    const cpuRatios = cpu.map((x, i) => x / ref.cpu[i]! - 1);
    const wallRatios = wall.map((x, i) => x / ref.wall[i]! - 1);
    const [c1, c3] = quartiles(cpuRatios);
    const [w1, w3] = quartiles(wallRatios);
    console.log(`| ${kind.name} | ${v.name} | ${median(cpu).toFixed(2)} | ${pct(median(cpuRatios))} [${pct(c1!)}, ${pct(c3!)}] | ${median(wall).toFixed(2)} | ${pct(median(wallRatios))} [${pct(w1!)}, ${pct(w3!)}] |`);
  }
}
for (const v of variants) {
  await v.close();
  fs.rmSync(v.dir, { recursive: true, force: true });
}
