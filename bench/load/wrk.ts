/**
 * wrk (C, one thread on the load core): the fastest generator for small GETs. It cannot measure HEAD — it waits
 * for a body of Content-Length bytes that never comes — so HEAD goes to oha or the bundled client.
 */
import * as path from 'node:path';
import { runChild } from '../lib/child.ts';
import type { HttpLoad, LoadResult } from './types.ts';

const SCRIPT = path.join(import.meta.dir, 'wrk-report.lua');

/** Runs one GET load with wrk. */
export async function runWrk(wrk: string, load: HttpLoad, cores: string): Promise<LoadResult> {
  if (load.method !== 'GET' || load.walk) throw new Error('wrk runs plain GET loads only');
  const seconds = Math.max(1, Math.round(load.durationSec));
  const argv = [wrk, '-t1', `-c${load.connections}`, `-d${seconds}s`, '--timeout', '30s', '-s', SCRIPT];
  for (const [k, v] of Object.entries(load.headers)) argv.push('-H', `${k}: ${v}`);
  argv.push(`${load.baseUrl}${load.paths[0]}`);
  if (load.randomRange) argv.push('--', 'range', String(load.randomRange.length), String(load.randomRange.size));
  else if (load.paths.length > 1) argv.push('--', 'paths', ...load.paths);
  const out = await runChild(argv, cores, seconds * 1000 + 40_000);
  const line = out.stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (!line) throw new Error(`wrk printed no result (exit ${out.exitCode}): ${out.stderr.trim() || out.stdout.trim()}`.slice(0, 400));
  const r = JSON.parse(line.slice(8)) as Record<'requests' | 'bytes' | 'duration_us' | 'socket_errors' | 'status_errors' | 'p50_us' | 'p99_us', number>;
  const errors = r.socket_errors + r.status_errors;
  const result: LoadResult = { generator: 'wrk', requests: r.requests, errors, bytes: r.bytes, seconds: r.duration_us / 1e6 };
  if (r.requests > 0) Object.assign(result, { p50Ms: r.p50_us / 1000, p99Ms: r.p99_us / 1000 });
  if (r.status_errors) result.firstError = `${r.status_errors} responses with a status other than 2xx/3xx`;
  else if (r.socket_errors) result.firstError = `${r.socket_errors} socket errors or timeouts`;
  return result;
}
