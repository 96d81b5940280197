/**
 * The pull-through mirror benchmark itself (issue #6), shared by `bun bench/mirror.ts` and the mirror phase of
 * `bun bench/run.ts`: cold and warm pull time and upstream blob bytes for N concurrent clients, Marina as a mirror
 * next to CNCF Distribution 2.8 as a pull-through cache, all on 127.0.0.1.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ServerProcess } from '../lib/server-process.ts';
import { buildImage, pushImage } from './image.ts';
import { CountingProxy } from './proxy.ts';
import { pullRound, type LayerTimes } from './pull.ts';
import type { MirrorReport, MirrorRow } from './report.ts';
import { DistributionMirror, MarinaMirror, startUpstream, type MirrorTarget } from './targets.ts';

/** Sizes and limits of one mirror run. */
export interface MirrorProfile {
  name: 'quick' | 'full';
  layerBytes: number;
  clients: number[];
  roundTimeoutMs: number;
  /** The whole benchmark gives up (throws) after this long. */
  overallLimitMs: number;
}

/** ≈ 60 s on 2 cores: a 64 MiB layer, 1, 8 and 32 clients, Marina then Distribution 2.8. */
export const MIRROR_FULL: MirrorProfile = { name: 'full', layerBytes: 64 * 2 ** 20, clients: [1, 8, 32], roundTimeoutMs: 180_000, overallLimitMs: 15 * 60_000 };
/** ≈ 10 s: an 8 MiB layer, 1 and 4 clients (the goal's 32 clients need the full profile). */
export const MIRROR_QUICK: MirrorProfile = { name: 'quick', layerBytes: 8 * 2 ** 20, clients: [1, 4], roundTimeoutMs: 60_000, overallLimitMs: 5 * 60_000 };

/** Where and how to run. */
export interface MirrorBenchOptions {
  profile: MirrorProfile;
  /** The command line recorded in the report. */
  command: string;
  /** A directory for data dirs and logs; created, and removed afterwards. */
  workdir: string;
  /** Distribution 2.8 (`docker-registry`); without it that target is reported as skipped. */
  distribution?: string;
  log(line: string): void;
}

const SETTLE_MS = 500;

/**
 * Runs the benchmark and returns its report. Every process it starts is stopped before it returns or throws,
 * and it throws once it has run longer than the profile's overall limit.
 */
export async function runMirrorBench(o: MirrorBenchOptions): Promise<MirrorReport> {
  const started = performance.now();
  fs.mkdirSync(o.workdir, { recursive: true });
  const work = fs.mkdtempSync(path.join(o.workdir, 'mirror-'));
  const state: { upstream?: ServerProcess; proxy?: CountingProxy; targets: MirrorTarget[] } = { targets: [] };
  let timer: Timer | undefined;
  const overLimit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`mirror benchmark: over ${o.profile.overallLimitMs / 1000} s, gave up`)), o.profile.overallLimitMs);
  });
  try {
    return await Promise.race([measureAll(o, work, state, started), overLimit]);
  } finally {
    clearTimeout(timer);
    for (const target of state.targets) await target.stop().catch(() => {});
    await state.upstream?.stop().catch(() => {});
    await state.proxy?.close().catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function measureAll(o: MirrorBenchOptions, work: string, state: { upstream?: ServerProcess; proxy?: CountingProxy; targets: MirrorTarget[] }, started: number): Promise<MirrorReport> {
  const { profile } = o;
  const image = buildImage(profile.layerBytes);
  const up = await startUpstream(work);
  state.upstream = up.proc;
  await pushImage(`http://127.0.0.1:${up.port}`, image);
  const proxy = await CountingProxy.start(up.port);
  state.proxy = proxy;
  const upstreamUrl = `http://127.0.0.1:${proxy.port}`;
  o.log(`mirror: upstream on :${up.port} with lib/app:v1 (${profile.layerBytes / 2 ** 20} MiB layer), counting proxy on :${proxy.port}`);

  const report: MirrorReport = { command: o.command, machine: machineLine(), layerBytes: profile.layerBytes, seconds: 0, rows: [], skipped: [] };
  state.targets.push(new MarinaMirror(work, upstreamUrl));
  if (o.distribution && fs.existsSync(o.distribution)) state.targets.push(new DistributionMirror(work, upstreamUrl, o.distribution));
  else report.skipped.push({ target: 'distribution', reason: `${o.distribution ?? 'docker-registry (Distribution 2.8)'} not found` });

  for (const target of state.targets) {
    for (const clients of profile.clients) {
      try {
        report.rows.push(await measure(o, proxy, target, clients, image.layerDigest));
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        o.log(`mirror: ${target.id} N=${clients}: ${reason}`);
        report.skipped.push({ target: `${target.id} N=${clients}`, reason });
      }
    }
    await target.stop();
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/** Cold then warm rounds of `clients` pulls against a freshly emptied target. */
async function measure(o: MirrorBenchOptions, proxy: CountingProxy, target: MirrorTarget, clients: number, layerDigest: string): Promise<MirrorRow> {
  const timeout = o.profile.roundTimeoutMs;
  await target.restartEmpty();
  proxy.take();
  const cold = await pullRound(target.base, target.repository, clients, layerDigest, timeout);
  await proxy.idle();
  const coldCounts = proxy.take();
  await Bun.sleep(SETTLE_MS); // let a cache commit what it fetched in the background before the warm round
  const warm = await pullRound(target.base, target.repository, clients, layerDigest, timeout);
  await proxy.idle();
  const warmCounts = proxy.take();
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
  const joiner = joinerFirstByte(cold.layerTimes, coldCounts.firstBlobByteAt);
  if (joiner) row.joinerFirstByteMs = joiner;
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
  o.log(
    `mirror: ${target.id} N=${clients}: cold ${cold.ms.toFixed(0)} ms, warm ${warm.ms.toFixed(0)} ms, upstream blob GETs ${row.upstreamBlobGets}, ` +
      `${mib(row.upstreamBlobBytes)} MiB (warm ${mib(warmCounts.blobBytes)}), first byte after upstream ${joiner ? `p50 ${joiner.p50.toFixed(1)} / max ${joiner.max.toFixed(1)} ms` : '–'}, failures ${row.failures}${row.firstError ? ` (${row.firstError})` : ''}`,
  );
  return row;
}

/**
 * How long each client waited for its first layer byte beyond what the upstream imposes: its first byte minus the
 * later of the upstream's first blob byte (at the proxy) and its own layer request — a client that joins a fetch
 * already streaming is timed from its request, not charged for arriving late. One clock (the harness's); p50 and
 * max over the clients. None when no client got a byte or the upstream sent none (the round did not exercise the
 * mirror's fetch).
 */
export function joinerFirstByte(clients: LayerTimes[], upstreamFirstByteAt: number | undefined): MirrorRow['joinerFirstByteMs'] {
  if (upstreamFirstByteAt === undefined || clients.length === 0) return undefined;
  const waits = clients.map((c) => c.firstByteAt - Math.max(c.requestAt, upstreamFirstByteAt)).sort((a, b) => a - b);
  return { p50: waits[Math.floor((waits.length - 1) / 2)]!, max: waits.at(-1)! };
}

function machineLine(): string {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  return `${os.availableParallelism()} cores (nproc), ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Linux ${os.release()}, Bun ${Bun.version}`;
}
