/**
 * Cold start of `marina serve` (spawn to the first 200 on /v2/, polled every 2 ms) from several entry files,
 * rounds interleaved, on one data directory made once (`--blobs N` bulk blobs of 1 KiB linked into one repository
 * and `--tags N` tags, written through the library). Entries: `src` (this checkout's sources), `bundle` (a
 * `bun build --bytecode` bundle built into a temporary directory), `tree:DIR` (another checkout's sources), `bundle:DIR` (another checkout's bundle).
 * Usage: bun bench/ab/cold-start.ts [--entries src,bundle] [--rounds 10] [--blobs 2000] [--tags 500]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildBundle } from '../../bin/build-bundle.ts';
import { cpuSeconds } from '../lib/proc-stats.ts';
import { freePort, ServerProcess } from '../lib/server-process.ts';

const { values } = parseArgs({ options: { entries: { type: 'string', default: 'src,bundle' }, rounds: { type: 'string', default: '10' }, blobs: { type: 'string', default: '2000' }, tags: { type: 'string', default: '500' } } });
const root = path.resolve(import.meta.dir, '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-ab-cold-'));
const data = path.join(work, 'data');

// The store: written once through the library (the harness seeds its big store the same way).
{
  const { createRegistry } = await import('../../src/registry.ts');
  const { fsStorage } = await import('../../src/storage/storage.ts');
  const { createLogger } = await import('../../src/logger.ts');
  const registry = createRegistry({ storage: fsStorage({ root: data, sync: false }), logger: createLogger('silent') });
  const fetch = (url: string, init?: RequestInit) => registry.fetch(new Request(`http://seed${url}`, init));
  const digests: string[] = [];
  let configSize = 0;
  for (let i = 0; i < Number(values.blobs); i++) {
    const bytes = new TextEncoder().encode(`blob ${i} ${'x'.repeat(1000)}`);
    if (i === 0) configSize = bytes.byteLength;
    const digest = `sha256:${new Bun.CryptoHasher('sha256').update(bytes).digest('hex')}`;
    const res = await fetch(`/v2/cold/bulk/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes });
    if (res.status !== 201) throw new Error(`seeding answered ${res.status}`);
    digests.push(digest);
  }
  const config = digests[0]!;
  for (let t = 0; t < Number(values.tags); t++) {
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: configSize }, layers: [], annotations: { t: String(t) } });
    const res = await fetch(`/v2/cold/bulk/manifests/t${t}`, { method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    if (res.status !== 201) throw new Error(`manifest seeding answered ${res.status}: ${await res.text()}`);
  }
  await registry.close();
}

let entriesBuilt = 0;
const entries = await Promise.all(
  values.entries.split(',').map(async (name) => {
    if (name === 'bundle') return { name, file: await buildBundle(path.join(work, 'dist')) };
    if (name.startsWith('bundle:')) {
      const { buildBundle: build } = (await import(path.join(name.slice(7), 'bin/build-bundle.ts'))) as { buildBundle: typeof buildBundle };
      return { name, file: await build(path.join(work, `dist-${entriesBuilt++}`)) };
    }
    if (name.startsWith('tree:')) return { name, file: path.join(name.slice(5), 'src/cli/main.ts') };
    return { name, file: path.join(root, 'src/cli/main.ts') };
  }),
);
const samples = new Map<string, number[]>(entries.map((e) => [e.name, []]));
// CPU time of the server until it answered (10 ms ticks): less disturbed by other work on the machine than wall time.
const cpu = new Map<string, number[]>(entries.map((e) => [e.name, []]));
for (let r = -1; r < Number(values.rounds); r++) {
  for (const e of r % 2 ? entries : [...entries].reverse()) {
    const port = await freePort();
    const argv = [process.execPath, e.file, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data', data, '--log-level', 'warn'];
    const server = await ServerProcess.start({ argv, logFile: path.join(work, 'server.log'), cores: '' }, `http://127.0.0.1:${port}/v2/`);
    if (r >= 0) samples.get(e.name)!.push(server.readyMs);
    if (r >= 0) cpu.get(e.name)!.push(cpuSeconds(server.pid) * 1000);
    await server.stop();
  }
}
console.log(`cold start to the first 200, ${values.blobs} blobs, ${values.tags} tags, ${values.rounds} rounds, load ${os.loadavg()[0]!.toFixed(2)}`);
for (const [name, xs] of samples) {
  const s = [...xs].sort((a, b) => a - b);
  const c = cpu.get(name)!;
  const mean = c.reduce((a, b) => a + b, 0) / c.length;
  console.log(`${name}: median ${s[Math.floor(s.length / 2)]!.toFixed(1)} ms [${s[0]!.toFixed(1)}–${s.at(-1)!.toFixed(1)}], server CPU until ready mean ${mean.toFixed(0)} ms`);
}
fs.rmSync(work, { recursive: true, force: true });
