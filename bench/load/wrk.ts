/**
 * wrk (C, one thread on the load core): the fastest generator for small GETs. It cannot measure HEAD — it waits
 * for a body of Content-Length bytes that never comes — so HEAD goes to oha or the bundled client.
 *
 * Only responses with an expected status count: for small bodies the script counts every status itself (exact);
 * for big bodies (where keeping each body in Lua would slow wrk down) wrk's own count of statuses ≥ 400 is
 * subtracted, and the probe before each scenario has already checked that the status is the expected one.
 */
import * as path from 'node:path';
import { runChild } from '../lib/child.ts';
import type { HttpLoad, LoadResult } from './types.ts';

const SCRIPT = path.join(import.meta.dir, 'wrk-report.lua');
/** Largest body for which the script counts statuses exactly. */
export const WRK_EXACT_STATUS_MAX_BODY = 64 * 1024;

type WrkJson = Record<'requests' | 'bytes' | 'duration_us' | 'socket_errors' | 'status_errors' | 'ok' | 'unexpected' | 'p50_us' | 'p99_us', number>;

/** Runs one GET load with wrk. */
export async function runWrk(wrk: string, load: HttpLoad, cores: string): Promise<LoadResult> {
  if (load.method !== 'GET' || load.walk) throw new Error('wrk runs plain GET loads only');
  const seconds = Math.max(1, Math.round(load.durationSec));
  const argv = [wrk, '-t1', `-c${load.connections}`, `-d${seconds}s`, '--timeout', '30s', '-s', SCRIPT];
  for (const [k, v] of Object.entries(load.headers)) argv.push('-H', `${k}: ${v}`);
  argv.push(`${load.baseUrl}${load.paths[0]}`);
  const scriptArgs: string[] = [];
  if ((load.bodySize ?? Infinity) <= WRK_EXACT_STATUS_MAX_BODY) scriptArgs.push('ok', load.okStatus.join(','));
  if (load.randomRange) scriptArgs.push('range', String(load.randomRange.length), String(load.randomRange.size));
  else if (load.paths.length > 1) scriptArgs.push('paths', ...load.paths);
  if (scriptArgs.length) argv.push('--', ...scriptArgs);
  const out = await runChild(argv, cores, seconds * 1000 + 40_000);
  const line = out.stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (!line) throw new Error(`wrk printed no result (exit ${out.exitCode}): ${out.stderr.trim() || out.stdout.trim()}`.slice(0, 400));
  return wrkResult(JSON.parse(line.slice(8)) as WrkJson);
}

/** Turns the script's line into a result that counts expected statuses only. */
export function wrkResult(r: WrkJson): LoadResult {
  const exact = r.ok >= 0;
  const unexpected = exact ? r.unexpected : r.status_errors;
  const requests = exact ? r.ok : Math.max(0, r.requests - r.status_errors);
  const result: LoadResult = { generator: 'wrk', requests, errors: r.socket_errors + unexpected, bytes: r.bytes, seconds: r.duration_us / 1e6 };
  if (requests > 0) Object.assign(result, { p50Ms: r.p50_us / 1000, p99Ms: r.p99_us / 1000 });
  if (unexpected) result.firstError = `${unexpected} responses with an unexpected status${exact ? '' : ' (≥ 400)'}`;
  else if (r.socket_errors) result.firstError = `${r.socket_errors} socket errors or timeouts`;
  return result;
}
