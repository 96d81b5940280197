/** oha (Rust, hyper): used for HEAD, which wrk cannot measure. Bounded by `-z` (time). */
import { runChild } from '../lib/child.ts';
import type { HttpLoad, LoadResult } from './types.ts';

interface OhaJson {
  summary: { total: number; totalData?: number };
  latencyPercentiles?: { p50?: number; p99?: number };
  statusCodeDistribution?: Record<string, number>;
  errorDistribution?: Record<string, number>;
}

let jsonFlag: string[] | undefined;

/** Runs one GET or HEAD load on a single target with oha. */
export async function runOha(oha: string, load: HttpLoad, cores: string): Promise<LoadResult> {
  if (load.walk || load.randomRange || load.paths.length !== 1) throw new Error('oha runs single-URL loads only');
  jsonFlag ??= (await runChild([oha, '--help'], '', 10_000)).stdout.includes('--output-format') ? ['--output-format', 'json'] : ['-j'];
  const argv = [oha, '--no-tui', ...jsonFlag, '-z', `${Math.max(1, Math.round(load.durationSec))}s`, '-c', String(load.connections), '-m', load.method];
  for (const [k, v] of Object.entries(load.headers)) argv.push('-H', `${k}: ${v}`);
  argv.push(`${load.baseUrl}${load.paths[0]}`);
  const out = await runChild(argv, cores, load.durationSec * 1000 + 40_000);
  let r: OhaJson;
  try {
    r = JSON.parse(out.stdout) as OhaJson;
  } catch {
    throw new Error(`oha printed no JSON (exit ${out.exitCode}): ${out.stderr.trim()}`.slice(0, 400));
  }
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  // Only the expected statuses are throughput; anything else (a fast 404) is an error.
  for (const [status, n] of Object.entries(r.statusCodeDistribution ?? {})) {
    if (load.okStatus.includes(Number(status))) requests += n;
    else {
      errors += n;
      firstError ??= `${n} × HTTP ${status}`;
    }
  }
  for (const [kind, n] of Object.entries(r.errorDistribution ?? {})) {
    // Requests cut off by the end of the window are not failures.
    if (/deadline/i.test(kind)) continue;
    errors += n;
    firstError ??= `${n} × ${kind}`;
  }
  const result: LoadResult = { generator: 'oha', requests, errors, bytes: r.summary.totalData ?? 0, seconds: r.summary.total };
  const p = r.latencyPercentiles;
  if (p?.p50 !== undefined && p.p99 !== undefined) Object.assign(result, { p50Ms: p.p50 * 1000, p99Ms: p.p99 * 1000 });
  if (firstError) result.firstError = firstError;
  return result;
}
