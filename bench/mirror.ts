/**
 * Pull-through mirror benchmark (issue #6): cold and warm pull time and upstream blob bytes for N concurrent
 * clients, Marina as a mirror next to CNCF Distribution 2.8 as a pull-through cache, all on 127.0.0.1.
 *
 *   bun bench/mirror.ts [--quick]   → bench/results/mirror.{md,json} (mirror-quick.{md,json} with --quick)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildImage, pushImage } from './mirror/image.ts';
import { CountingProxy } from './mirror/proxy.ts';
import { pullRound } from './mirror/pull.ts';
import { writeReport, type MirrorReport, type MirrorRow } from './mirror/report.ts';
import { DistributionMirror, MarinaMirror, startUpstream, type MirrorTarget } from './mirror/targets.ts';
import type { ServerProcess } from './lib/server-process.ts';

const quick = process.argv.includes('--quick');
const LAYER_BYTES = (quick ? 8 : 64) * 2 ** 20;
const CLIENTS = quick ? [1, 4] : [1, 8, 32];
const ROUND_TIMEOUT_MS = quick ? 60_000 : 180_000;
const OVERALL_LIMIT_MS = quick ? 5 * 60_000 : 15 * 60_000;
const SETTLE_MS = 500;
const DISTRIBUTION = '/usr/bin/docker-registry';
const log = (line: string): void => void process.stderr.write(`${line}\n`);

const started = performance.now();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-mirror-bench-'));
let upstream: ServerProcess | undefined;
let proxy: CountingProxy | undefined;
const targets: MirrorTarget[] = [];

async function cleanup(): Promise<void> {
  for (const target of targets) await target.stop().catch(() => {});
  await upstream?.stop().catch(() => {});
  await proxy?.close().catch(() => {});
  fs.rmSync(work, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)));
const watchdog = setTimeout(() => {
  log(`mirror bench: over ${OVERALL_LIMIT_MS / 1000} s, giving up`);
  void cleanup().finally(() => process.exit(2));
}, OVERALL_LIMIT_MS);

/** Cold then warm rounds of `clients` pulls against a freshly emptied target. */
async function measure(target: MirrorTarget, clients: number, layerDigest: string): Promise<MirrorRow> {
  await target.restartEmpty();
  proxy!.take();
  const cold = await pullRound(target.base, target.repository, clients, layerDigest, ROUND_TIMEOUT_MS);
  await proxy!.idle();
  const coldCounts = proxy!.take();
  await Bun.sleep(SETTLE_MS); // let a cache commit what it fetched in the background before the warm round
  const warm = await pullRound(target.base, target.repository, clients, layerDigest, ROUND_TIMEOUT_MS);
  await proxy!.idle();
  const warmCounts = proxy!.take();
  const row: MirrorRow = {
    target: target.id,
    clients,
    coldMs: cold.ms,
    warmMs: warm.ms,
    upstreamBlobGets: coldCounts.blobGets + warmCounts.blobGets,
    upstreamBlobBytes: coldCounts.blobBytes + warmCounts.blobBytes,
    warmUpstreamBlobBytes: warmCounts.blobBytes,
    failures: cold.failures + warm.failures,
    firstError: cold.firstError ?? warm.firstError,
  };
  const upstreamFirst = coldCounts.firstBlobByteAt;
  if (upstreamFirst !== undefined && cold.firstByteAts.length) {
    const after = cold.firstByteAts.map((t) => t - upstreamFirst).sort((a, b) => a - b);
    row.joinerFirstByteMs = { p50: after[Math.floor((after.length - 1) / 2)]!, max: after.at(-1)! };
  }
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
  log(
    `${target.id} N=${clients}: cold ${cold.ms.toFixed(0)} ms, warm ${warm.ms.toFixed(0)} ms, upstream blob GETs ${row.upstreamBlobGets}, ` +
      `${mib(row.upstreamBlobBytes)} MiB (warm ${mib(warmCounts.blobBytes)}), first byte after upstream ${row.joinerFirstByteMs ? `p50 ${row.joinerFirstByteMs.p50.toFixed(1)} / max ${row.joinerFirstByteMs.max.toFixed(1)} ms` : '–'}, failures ${row.failures}${row.firstError ? ` (${row.firstError})` : ''}`,
  );
  return row;
}

function machineLine(): string {
  const nproc = Bun.spawnSync(['nproc']).stdout.toString().trim();
  const cpu = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  return `${nproc} cores (nproc), ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Linux ${os.release()}, Bun ${Bun.version}`;
}

async function main(): Promise<void> {
  const image = buildImage(LAYER_BYTES);
  const up = await startUpstream(work);
  upstream = up.proc;
  await pushImage(`http://127.0.0.1:${up.port}`, image);
  proxy = await CountingProxy.start(up.port);
  const upstreamUrl = `http://127.0.0.1:${proxy.port}`;
  log(`upstream on :${up.port} with lib/app:v1 (${LAYER_BYTES / 2 ** 20} MiB layer), counting proxy on :${proxy.port}`);

  const report: MirrorReport = { command: ['bun', 'bench/mirror.ts', ...process.argv.slice(2)].join(' '), machine: machineLine(), layerBytes: LAYER_BYTES, seconds: 0, rows: [], skipped: [] };
  targets.push(new MarinaMirror(work, upstreamUrl));
  if (fs.existsSync(DISTRIBUTION)) targets.push(new DistributionMirror(work, upstreamUrl, DISTRIBUTION));
  else report.skipped.push({ target: 'distribution', reason: `${DISTRIBUTION} not found` });

  for (const target of targets) {
    for (const clients of CLIENTS) {
      try {
        report.rows.push(await measure(target, clients, image.layerDigest));
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        log(`${target.id} N=${clients}: ${reason}`);
        report.skipped.push({ target: `${target.id} N=${clients}`, reason });
      }
    }
    await target.stop();
  }
  report.seconds = (performance.now() - started) / 1000;
  const md = writeReport(path.join(import.meta.dir, 'results'), quick ? 'mirror-quick' : 'mirror', report);
  process.stdout.write(md);
}

try {
  await main();
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
