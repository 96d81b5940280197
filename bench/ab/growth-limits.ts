/**
 * The two rates that bound one Marina deployment before sharding (README "What limits growth"), measured through
 * the library with no HTTP in between:
 * - index writes: durable LMDB commits of blob links, one at a time (each waits for its flush, as a lone push step
 *   does) and many at once (LMDB flushes concurrent writes together, as under load);
 * - S3 requests: 1 KiB PUTs and HEADs (what a commit and a blob HEAD cost) against a SeaweedFS started here on the
 *   same machine, one at a time and 16 at once.
 * Each figure is the median of `--rounds` rounds with ± half the range. Run it on a quiet machine for real numbers.
 * Usage: bun bench/ab/growth-limits.ts [--rounds 3] [--writes 1000] [--requests 500]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { digestOf, type Digest } from '../../src/oci/digest.ts';
import { LmdbIndex } from '../../src/storage/lmdb-index.ts';
import { S3BlobStore } from '../../src/storage/s3-blob-store.ts';
import { startSeaweedFs } from '../../test/support/seaweedfs.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, writes: { type: 'string', default: '1000' }, requests: { type: 'string', default: '500' } } });
const rounds = Math.max(1, Math.min(20, Number(values.rounds)));
const writes = Math.max(10, Math.min(100_000, Number(values.writes)));
const requests = Math.max(10, Math.min(100_000, Number(values.requests)));

/** Runs `n` operations with `concurrency` in flight; returns operations per second. */
async function rate(n: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await op(next++);
  }));
  return n / ((performance.now() - started) / 1000);
}

/** Median ± half the range over the rounds, as the harness reports. */
function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const spread = sorted.length > 1 ? ` ±${(((sorted.at(-1)! - sorted[0]!) / median) * 50).toFixed(0)}%` : '';
  return `${Math.round(median).toLocaleString('en-US')}/s${spread}`;
}

const lines: string[] = [`load average ${os.loadavg()[0]!.toFixed(2)} at start, ${os.availableParallelism()} cores, Bun ${Bun.version}`];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-growth-'));
const index = new LmdbIndex({ dir: path.join(dir, 'index') });
const weed = await startSeaweedFs();
try {
  const digests: Digest[] = Array.from({ length: writes }, (_, i) => digestOf(`link ${i}`));
  let repo = 0;
  for (const [label, concurrency] of [['index: durable link writes, 1 at a time', 1], ['index: durable link writes, 64 at once', 64]] as const) {
    const got: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const repository = `growth/r${repo++}`;
      got.push(await rate(writes, concurrency, (i) => index.linkBlob(repository, digests[i]!)));
    }
    lines.push(`${label}: ${summary(got)}`);
  }

  await weed.createBucket('growth');
  const store = new S3BlobStore({ bucket: 'growth', prefix: 'p', endpoint: weed.endpoint, region: weed.region, accessKeyId: weed.accessKeyId, secretAccessKey: weed.secretAccessKey });
  const bodies = Array.from({ length: requests }, (_, i) => new TextEncoder().encode(`${i}`.padEnd(1024, '.')));
  const keys = bodies.map((b) => digestOf(b));
  for (const concurrency of [1, 16]) {
    const puts: number[] = [];
    const heads: number[] = [];
    for (let r = 0; r < rounds; r++) {
      puts.push(await rate(requests, concurrency, (i) => store.put(keys[i]!, bodies[i]!)));
      heads.push(await rate(requests, concurrency, (i) => store.stat(keys[i]!)));
    }
    lines.push(`S3 (SeaweedFS, same machine): 1 KiB PUT, ${concurrency} at once: ${summary(puts)}`);
    lines.push(`S3 (SeaweedFS, same machine): HEAD, ${concurrency} at once: ${summary(heads)}`);
  }
} finally {
  await index.close();
  await weed.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${lines.join('\n')}\n`);
