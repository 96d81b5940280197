/**
 * A/B of the metadata index: LMDB (in-process, memory-mapped) against PostgreSQL (a throwaway local cluster over
 * loopback TCP, fsync on), called directly (no HTTP), in one process. Measures what a manifest GET asks of the
 * index (resolveTag + getManifest of a ~1 KiB manifest) and manifest PUT commits per second, one at a time and
 * `--concurrency` at once (one repository each, as separate clients pushing); then a whole manifest GET by tag through
 * `registry.fetch` (no sockets) on `fsStorage` against `pgStorage` with filesystem blobs.
 * Usage: bun bench/ab/index-pg.ts [--reads 5000] [--puts 300] [--concurrency 8]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../../src/logger.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { createRegistry } from '../../src/registry.ts';
import { FsBlobStore } from '../../src/storage/fs-blob-store.ts';
import { pgStorage } from '../../src/storage/pg-storage.ts';
import { fsStorage, type Storage } from '../../src/storage/storage.ts';
import { OCI_MANIFEST } from '../../src/oci/media-types.ts';
import { LmdbIndex } from '../../src/storage/lmdb-index.ts';
import { PgIndex } from '../../src/storage/pg-index.ts';
import type { ManifestRecord } from '../../src/storage/types.ts';
import { startPostgres } from '../../test/support/postgres.ts';

const { values } = parseArgs({ options: { reads: { type: 'string', default: '5000' }, puts: { type: 'string', default: '300' }, concurrency: { type: 'string', default: '8' } } });
const reads = Math.min(1_000_000, Number(values.reads));
const puts = Math.min(100_000, Number(values.puts));
const concurrency = Math.min(64, Number(values.concurrency));

interface Index {
  resolveTag(repository: string, tag: string): unknown;
  getManifest(repository: string, digest: ReturnType<typeof digestOf>): unknown;
  putManifest(repository: string, record: ManifestRecord, tags: string[], requires: { blobs: []; manifests: [] }): Promise<void>;
  close(): Promise<void>;
}

function record(i: number): ManifestRecord {
  const body = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, n: i, pad: 'x'.repeat(900) }));
  return { digest: digestOf(body), mediaType: OCI_MANIFEST, size: body.byteLength, body };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function measure(name: string, index: Index): Promise<void> {
  const pulled = record(-1);
  await index.putManifest('bench/read', pulled, ['latest'], { blobs: [], manifests: [] });
  const samples: number[] = [];
  for (let i = 0; i < reads; i++) {
    const t0 = performance.now();
    const digest = await index.resolveTag('bench/read', 'latest');
    const found = await index.getManifest('bench/read', digest as ReturnType<typeof digestOf>);
    samples.push((performance.now() - t0) * 1000);
    if (!found) throw new Error('manifest not found');
  }
  samples.sort((a, b) => a - b);
  let t0 = performance.now();
  for (let i = 0; i < puts; i++) await index.putManifest('bench/seq', record(i), [`t${i}`], { blobs: [], manifests: [] });
  const sequential = puts / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    while (next < puts) {
      const i = next++;
      await index.putManifest(`bench/par${w}`, record(puts + i), [`t${i}`], { blobs: [], manifests: [] });
    }
  }));
  const parallel = puts / ((performance.now() - t0) / 1000);
  console.log(`${name.padEnd(10)} tag+manifest read: p50 ${pct(samples, 0.5).toFixed(1)} µs, p99 ${pct(samples, 0.99).toFixed(1)} µs` +
    ` | manifest PUT: ${sequential.toFixed(0)}/s one at a time, ${parallel.toFixed(0)}/s with ${concurrency} at once`);
}

/** Median and p99 of a manifest GET by tag through the registry's fetch handler (µs). */
async function manifestGet(name: string, storage: Storage): Promise<void> {
  const registry = createRegistry({ storage, logger: createLogger('silent') });
  const config = new TextEncoder().encode('{"architecture":"amd64","os":"linux"}');
  const layer = crypto.getRandomValues(new Uint8Array(1024));
  await registry.putBlob('bench/http', config);
  await registry.putBlob('bench/http', layer);
  const manifest = JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.byteLength },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(layer), size: layer.byteLength }],
  });
  await registry.putManifest('bench/http', 'latest', manifest, OCI_MANIFEST);
  const url = 'http://bench.local/v2/bench/http/manifests/latest';
  const headers = { accept: OCI_MANIFEST };
  const samples: number[] = [];
  for (let i = 0; i < reads; i++) {
    const t0 = performance.now();
    const res = await registry.fetch(new Request(url, { headers }));
    await res.arrayBuffer();
    samples.push((performance.now() - t0) * 1000);
    if (res.status !== 200) throw new Error(`GET answered ${res.status}`);
  }
  samples.sort((a, b) => a - b);
  console.log(`${name.padEnd(10)} manifest GET by tag (registry.fetch): p50 ${pct(samples, 0.5).toFixed(1)} µs, p99 ${pct(samples, 0.99).toFixed(1)} µs`);
  await registry.close();
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-ab-index-'));
const pg = await startPostgres({ fsync: true });
try {
  const lmdb = new LmdbIndex({ dir });
  await measure('LMDB', lmdb);
  await lmdb.close();
  const index = await PgIndex.open({ url: await pg.createDatabase(), max: concurrency + 2 });
  await measure('PostgreSQL', index);
  await index.close();
  await manifestGet('LMDB', fsStorage({ root: path.join(dir, 'fs') }));
  const root = path.join(dir, 'pg');
  await manifestGet('PostgreSQL', await pgStorage({ url: await pg.createDatabase(), root, blobs: new FsBlobStore({ root }) }));
} finally {
  await pg.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
