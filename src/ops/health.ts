/**
 * Health endpoints. `/healthz`: the process is alive and its event loop answers. `/readyz`: it can do its job —
 * the data directory takes a write, the index answers a read, and (when asked for) each mirror upstream answers
 * `/v2/` within a short deadline; a server that is shutting down is not ready. Results are cached for one second
 * so a flood of probes cannot turn into a flood of disk writes or upstream requests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MetadataIndex } from '../storage/types.ts';

/** One check's outcome. */
export interface CheckResult {
  ok: boolean;
  ms: number;
}

/** What readiness looks at. */
export interface ReadinessSources {
  dataDir?: string;
  index: Pick<MetadataIndex, 'hasRepository'>;
  /** Mirror upstreams to probe, when upstream checks are on. */
  upstreams?: () => { name: string; url: string }[];
  /**
   * Hears why a check failed. The answer itself says only which check failed: `/readyz` is open to anyone, and
   * error text names paths and upstream addresses.
   */
  onFailure?: (check: string, error: string) => void;
  /** Deadline of each upstream probe. @default 2000 */
  upstreamTimeoutMs?: number;
}

const CACHE_MS = 1000;

/** Builds the `/healthz` and `/readyz` answers. */
export class Health {
  private cached: { at: number; body: Promise<{ ready: boolean; checks: Record<string, CheckResult> }> } | undefined;
  /** Set when the server starts shutting down: readiness fails so load balancers stop sending traffic. */
  stopping = false;

  constructor(private readonly sources: ReadinessSources) {}

  /** 200 while the process runs. */
  alive(): Response {
    return Response.json({ status: 'ok' }, { headers: { 'Cache-Control': 'no-store' } });
  }

  /** 200 with each check's result when ready, 503 otherwise. */
  async ready(): Promise<Response> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at >= CACHE_MS) this.cached = { at: now, body: this.check() };
    const { ready, checks } = await this.cached.body;
    const status = this.stopping ? 'stopping' : ready ? 'ready' : 'unready';
    return Response.json({ status, checks }, { status: status === 'ready' ? 200 : 503, headers: { 'Cache-Control': 'no-store' } });
  }

  private async check(): Promise<{ ready: boolean; checks: Record<string, CheckResult> }> {
    const checks: Record<string, CheckResult> = {};
    const { dataDir, index, upstreams, upstreamTimeoutMs = 2000 } = this.sources;
    const run = async (name: string, fn: () => void | Promise<void>) => {
      checks[name] = await timed(fn, (error) => this.sources.onFailure?.(name, error));
    };
    if (dataDir) await run('data', () => probeWritable(dataDir));
    await run('index', () => void index.hasRepository('readyz-probe'));
    const probes = (upstreams?.() ?? []).map((u) => run(`upstream:${u.name}`, () => probeUpstream(u.url, upstreamTimeoutMs)));
    await Promise.all(probes);
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }
}

async function timed(fn: () => void | Promise<void>, onError: (error: string) => void): Promise<CheckResult> {
  const began = performance.now();
  try {
    await fn();
    return { ok: true, ms: round(performance.now() - began) };
  } catch (error) {
    onError(error instanceof Error ? error.message : String(error));
    return { ok: false, ms: round(performance.now() - began) };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Creates, writes and removes a small file in the data directory. */
async function probeWritable(dir: string): Promise<void> {
  const file = path.join(dir, `.readyz-${process.pid}`);
  await fs.promises.writeFile(file, 'ok');
  await fs.promises.unlink(file);
}

/** Any HTTP answer from `/v2/` (401 included) means the upstream is reachable. */
async function probeUpstream(url: string, timeoutMs: number): Promise<void> {
  const res = await fetch(new URL('/v2/', url), { method: 'GET', signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  await res.body?.cancel();
  if (res.status >= 500) throw new Error(`upstream answered ${res.status}`);
}
