/**
 * The bundled load generator (no external tools needed): a child process that runs one {@link HttpLoad} on raw
 * keep-alive sockets and prints a {@link LoadResult} as JSON.
 *
 *   bun bench/load/bun-load.ts '<HttpLoad as JSON>'
 *
 * Bytes are counted as they arrive, so a window that ends in the middle of a 1 GiB response still counts what
 * was transferred; only responses completed inside the window count as requests and give latencies.
 */
import { LatencyRecorder } from '../lib/stats.ts';
import { openConnection } from './http1.ts';
import type { HttpLoad, LoadResult } from './types.ts';
import { nextLink } from './walk-pages.ts';

/** Runs the load in this process. */
export async function runBunLoad(load: HttpLoad): Promise<LoadResult> {
  const url = new URL(load.baseUrl);
  const open_ = () => openConnection(url, load.transport);
  const headerLines = Object.entries(load.headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const latencies = new LatencyRecorder();
  let bytes = 0;
  let requests = 0;
  let errors = 0;
  let started = 0;
  let firstError: string | undefined;
  let open = true;
  let starting = true;
  let last = 0;
  const note = (message: string) => {
    errors++;
    firstError ??= message;
  };

  const connections = await Promise.all(Array.from({ length: load.connections }, open_));
  const count = (n: number) => {
    if (open) bytes += n;
  };
  for (const c of connections) c.onBytes = count;
  const t0 = performance.now();
  const deadline = t0 + load.durationSec * 1000;

  const client = async (index: number) => {
    let conn = connections[index]!;
    let k = index;
    while (open && starting && started < load.maxRequests) {
      started++;
      const first = load.paths[k++ % load.paths.length]!;
      let headers = headerLines;
      if (load.randomRange) {
        const start = Math.floor(Math.random() * (load.randomRange.size - load.randomRange.length + 1));
        headers += `Range: bytes=${start}-${start + load.randomRange.length - 1}\r\n`;
      }
      const t = performance.now();
      try {
        let target: string | undefined = first;
        let ok = true;
        while (target !== undefined) {
          const res = await conn.request(load.method, target, headers);
          if (!load.okStatus.includes(res.status)) {
            ok = false;
            note(`HTTP ${res.status} for ${load.method} ${target}`);
            break;
          }
          target = load.walk ? nextLink(res.headers.get('link')) : undefined;
        }
        if (!open) break;
        // Only a request (or a whole walk) answered with the expected status counts as throughput.
        if (!ok) continue;
        requests++;
        last = performance.now();
        latencies.add(last - t);
      } catch (e) {
        if (!open) break;
        note(e instanceof Error ? e.message : String(e));
        conn.close();
        try {
          conn = await open_();
        } catch {
          break;
        }
        conn.onBytes = count;
        connections[index] = conn;
      }
    }
  };

  const loops = connections.map((_, i) => client(i));
  await Promise.race([Promise.all(loops), Bun.sleep(Math.max(0, deadline - performance.now()))]);
  if (load.drainSec) {
    starting = false;
    await Promise.race([Promise.all(loops), Bun.sleep(load.drainSec * 1000)]);
  }
  open = false;
  const end = load.drainSec ? Math.max(last, deadline) : performance.now();
  const seconds = (Math.min(end, performance.now()) - t0) / 1000;
  for (const c of connections) c.close();
  await Promise.allSettled(loops);
  return { generator: load.transport === 'fetch' ? 'bun-fetch' : 'bun', requests, errors, bytes, seconds, ...latencies.summary(), ...(firstError ? { firstError } : {}) };
}

if (import.meta.main) {
  const load = JSON.parse(process.argv[2] ?? '{}') as HttpLoad;
  const result = await runBunLoad(load);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
