/**
 * Picks a load generator for each load and runs it pinned to the load cores:
 * - wrk for GETs of small bodies (fastest; C)
 * - oha for HEAD (wrk stalls on HEAD responses)
 * - the bundled Bun client for everything else, and for everything when wrk/oha are absent or `--generator bun`:
 *   link walks, and bodies of 64 MiB and more, where it counts partial transfers inside the window.
 *
 * Every figure can be cross-checked by a second, independent generator ({@link crossGenerator}): the case fails
 * when the two disagree by more than {@link CROSS_CHECK_TOLERANCE}.
 */
import * as path from 'node:path';
import { runChild } from '../lib/child.ts';
import type { Tools } from '../lib/tools.ts';
import { runOha } from './oha.ts';
import type { GeneratorId, HttpLoad, LoadResult } from './types.ts';
import { runWrk } from './wrk.ts';

const BUN_LOAD = path.join(import.meta.dir, 'bun-load.ts');
/** From this response size on, bandwidth (partial transfers included) matters more than request rate. */
export const LARGE_BODY = 64 * 1024 * 1024;

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

/** The generator for a load, given the size of one response body. */
export function chooseGenerator(load: HttpLoad, bodySize: number, env: GeneratorEnv): GeneratorId {
  if (env.bunOnly || load.walk || load.drainSec || bodySize >= LARGE_BODY) return 'bun';
  if (load.method === 'HEAD') return env.tools.oha && !load.randomRange && load.paths.length === 1 ? 'oha' : 'bun';
  if (env.tools.wrk) return 'wrk';
  if (env.tools.oha && !load.randomRange && load.paths.length === 1) return 'oha';
  return 'bun';
}

/**
 * The second generator for a load, independent of `primary`: the bundled socket client against wrk or oha; wrk
 * (or oha) against the bundled client; the bundled client on Bun's fetch where nothing else can run the load
 * (link walks, HEAD without oha). Undefined for generators that have no twin (the push clients).
 */
export function crossGenerator(load: HttpLoad, primary: GeneratorId, env: GeneratorEnv): GeneratorId | undefined {
  const single = !load.randomRange && load.paths.length === 1 && !load.walk && !load.drainSec;
  if (primary === 'wrk' || primary === 'oha') return 'bun';
  if (primary !== 'bun') return undefined;
  if (env.bunOnly) return 'bun-fetch';
  if (load.method === 'GET' && env.tools.wrk && !load.walk && !load.drainSec) return 'wrk';
  if (env.tools.oha && single) return 'oha';
  return 'bun-fetch';
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
    case 'wrk':
      return runWrk(env.tools.wrk!, load, env.cores);
    case 'oha':
      return runOha(env.tools.oha!, load, env.cores);
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
