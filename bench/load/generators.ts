/**
 * Picks a load generator for each load and runs it pinned to the load cores:
 * - wrk for GETs of small bodies (fastest; C)
 * - oha for HEAD (wrk stalls on HEAD responses) and for bodies from {@link BANDWIDTH_BODY} on; curl for those
 *   with a random Range, and for bodies from {@link LARGE_BODY} on (whole transfers)
 * - the bundled Bun client for everything else, and for everything when the tools are absent or `--generator
 *   bun`: link walks, and big bodies without curl, where it counts partial transfers inside the window.
 *
 * Every figure can be cross-checked by a second, independent generator ({@link crossGenerator}): the case fails
 * when the two disagree by more than {@link CROSS_CHECK_TOLERANCE}.
 */
import * as path from 'node:path';
import { runChild } from '../lib/child.ts';
import { type Tools, versionLine } from '../lib/tools.ts';
import { LARGE_BODY, runCurl } from './curl.ts';
import { runOha } from './oha.ts';
import type { GeneratorId, HttpLoad, LoadResult } from './types.ts';
import { pagesToWalks, walkPages } from './walk-pages.ts';
import { runWrk } from './wrk.ts';

const BUN_LOAD = path.join(import.meta.dir, 'bun-load.ts');
export { LARGE_BODY };

/** What generator selection depends on. */
export interface GeneratorEnv {
  tools: Tools;
  /** Cores for load processes. */
  cores: string;
  /** Use only the bundled client. */
  bunOnly: boolean;
  /** Measure every load with a second generator too (see {@link crossGenerator}). */
  crossCheck?: boolean;
}

/** Largest disagreement between two generators on one figure: max/min − 1. Beyond it, the case fails. */
export const CROSS_CHECK_TOLERANCE = 0.25;

/**
 * From this response size on, a load is bound by bytes, not requests. On loopback a server sends several GiB/s,
 * and wrk (8 KiB reads) and the bundled client saturate their own core first (2–3.4 GiB/s here, while the kernel's
 * loopback counter saw 5.3 GiB/s with oha); so oha and curl, which read big buffers, measure these loads.
 */
export const BANDWIDTH_BODY = 256 * 1024;

/** The generator for a load, given the size of one response body. */
export function chooseGenerator(load: HttpLoad, bodySize: number, env: GeneratorEnv): GeneratorId {
  if (env.bunOnly || load.walk || load.drainSec) return 'bun';
  // Bodies too big to complete several times in a window: curl runs whole transfers; the bundled client (which
  // counts the bytes of transfers still in flight when the window closes) where curl is missing.
  if (bodySize >= LARGE_BODY) return env.tools.curl && load.method === 'GET' ? 'curl' : 'bun';
  const ohaCan = Boolean(env.tools.oha) && single(load);
  if (load.method === 'HEAD') return ohaCan ? 'oha' : 'bun';
  if (bodySize >= BANDWIDTH_BODY) {
    if (ohaCan) return 'oha';
    if (env.tools.curl) return 'curl';
  }
  if (env.tools.wrk) return 'wrk';
  return ohaCan ? 'oha' : 'bun';
}

/**
 * The second generator for a load, independent of `primary`: curl against oha where bytes bound the load; oha
 * against wrk on single-URL GETs; the bundled socket client against wrk (many paths), oha (HEAD) or curl elsewhere; wrk on the pages of one walk
 * against the bundled client's walks; the bundled client on Bun's fetch where nothing else can run the load.
 * Undefined for generators that have no twin (the push clients).
 */
export function crossGenerator(load: HttpLoad, primary: GeneratorId, env: GeneratorEnv): GeneratorId | undefined {
  const bytesBound = (load.bodySize ?? 0) >= BANDWIDTH_BODY && load.method === 'GET';
  if (primary === 'oha' && bytesBound && env.tools.curl) return 'curl';
  // oha keeps up with wrk on small GETs (15.5k vs 15.6k req/s at 1 connection, ~90k at 16, pinned); unpinned, where
  // the generator shares the cores with the server, the bundled client's higher CPU cost per request starves the
  // server (--workers 2: wrk 58-72k, oha 60k, bundled client 37-41k req/s).
  if (primary === 'wrk' && env.tools.oha && single(load)) return 'oha';
  if (primary === 'wrk' || primary === 'oha' || primary === 'curl') return 'bun';
  if (primary !== 'bun') return undefined;
  if (env.bunOnly) return 'bun-fetch';
  if (load.method === 'HEAD') return env.tools.oha && single(load) ? 'oha' : 'bun-fetch';
  if (load.walk) return env.tools.wrk ? 'wrk' : 'bun-fetch';
  if (bytesBound && env.tools.curl) return 'curl';
  if (env.tools.wrk && !load.drainSec) return 'wrk';
  if (env.tools.oha && single(load)) return 'oha';
  return 'bun-fetch';
}

/** One URL, no random Range, no walk: what oha can run. */
function single(load: HttpLoad): boolean {
  return !load.randomRange && load.paths.length === 1 && !load.walk && !load.drainSec;
}

/** max/min − 1 of two figures (Infinity when one is zero and the other is not). */
export function disagreement(a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  if (hi === 0) return 0;
  return lo > 0 ? hi / lo - 1 : Number.POSITIVE_INFINITY;
}

/** Runs a load with the given generator. */
export async function runLoad(load: HttpLoad, generator: GeneratorId, env: GeneratorEnv): Promise<LoadResult> {
  switch (generator) {
    case 'wrk': {
      if (!load.walk) return runWrk(env.tools.wrk!, load, env.cores);
      const pages = await walkPages(load);
      const perPage: HttpLoad = { ...load, walk: false, drainSec: undefined, paths: pages };
      return pagesToWalks(await runWrk(env.tools.wrk!, perPage, env.cores), pages.length);
    }
    case 'oha':
      return runOha(env.tools.oha!, load, env.cores);
    case 'curl':
      return runCurl(env.tools.curl!, load, env.cores, { expectedBytesPerSec: load.expectedBytesPerSec });
    case 'bun':
    case 'bun-fetch': {
      const withTransport: HttpLoad = { ...load, transport: generator === 'bun-fetch' ? 'fetch' : 'socket' };
      const out = await runChild([process.execPath, BUN_LOAD, JSON.stringify(withTransport)], env.cores, (load.durationSec + (load.drainSec ?? 0)) * 1000 + 30_000);
      const line = out.stdout.trim().split('\n').at(-1) ?? '';
      if (out.exitCode !== 0 || !line.startsWith('{')) throw new Error(`bun load client failed (exit ${out.exitCode}): ${out.stderr.trim()}`.slice(0, 400));
      return JSON.parse(line) as LoadResult;
    }
    default:
      throw new Error(`${generator} is not an HTTP load generator`);
  }
}

/** The generators a run can use, by id, with their versions (for the report). */
export function generatorVersions(tools: Tools, bunOnly: boolean): Record<string, string> {
  const out: Record<string, string> = { bun: `bundled clients on Bun ${Bun.version} (raw sockets; fetch for some cross-checks)` };
  if (bunOnly) return out;
  if (tools.wrk) out.wrk = versionLine(tools.wrk, ['-v']).split(' ').slice(0, 2).join(' ');
  if (tools.oha) out.oha = versionLine(tools.oha);
  if (tools.curl) out.curl = versionLine(tools.curl).split(' ').slice(0, 2).join(' ');
  return out;
}
