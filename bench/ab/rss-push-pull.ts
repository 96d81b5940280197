/**
 * Peak RSS of one `marina serve` process while clients push and pull big blobs at once (the harness's `mixed` case,
 * standalone and smaller by default). The server's VmRSS is sampled every 20 ms and VmHWM read at the end; the
 * pushes are monolithic (POST, then one PUT with the body) on raw sockets, the pulls whole-blob GETs.
 * `--tree DIR` runs the server from another checkout (e.g. `git archive <commit> | tar -x -C /tmp/old`, with a
 * node_modules link) for before/after; `--server limit` runs the harness's bare Bun upload handler instead, and
 * `--server file.ts` any script taking `--port` and `--dir`. `--bun-flags="--preload x.ts"` for diagnostics.
 * Usage: bun bench/ab/rss-push-pull.ts [--size-mib 256] [--pushers 8] [--pullers 8] [--window 6] [--tree DIR] [--no-sync] [--rounds 1] [--bun-flags "--smol"] [--log FILE] [--server marina|limit]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { pushContent } from '../data/dataset.ts';
import { runChild } from '../lib/child.ts';
import { resetPeakRss, statusBytes } from '../lib/proc-stats.ts';
import { freePort, ServerProcess } from '../lib/server-process.ts';
import type { PushLoad } from '../load/push-load.ts';
import type { HttpLoad, LoadResult } from '../load/types.ts';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '256' },
    pushers: { type: 'string', default: '8' },
    pullers: { type: 'string', default: '8' },
    window: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '1' },
    tree: { type: 'string', default: path.resolve(import.meta.dir, '../..') },
    'no-sync': { type: 'boolean', default: false },
    'bun-flags': { type: 'string', default: '' },
    log: { type: 'string' },
    server: { type: 'string', default: 'marina' },
  },
});
const MiB = 1024 * 1024;
const size = Math.min(4096, Number(values['size-mib'])) * MiB;
const pushers = Math.min(64, Number(values.pushers));
const pullers = Math.min(64, Number(values.pullers));
const windowSec = Math.min(120, Number(values.window));
const rounds = Math.min(20, Number(values.rounds));
const here = path.resolve(import.meta.dir, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-rss-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const bunFlags = values['bun-flags'].split(' ').filter(Boolean);
// `--server limit`: the harness's bare Bun.serve upload handler (stream, hash, write, fsync, rename), for comparison.
const argv = values.server.endsWith('.ts')
  ? [process.execPath, ...bunFlags, values.server, '--port', String(port), '--dir', path.join(dir, 'data')]
  : values.server === 'limit'
    ? [process.execPath, ...bunFlags, path.join(here, 'targets/limit-server.ts'), '--port', String(port), '--dir', path.join(dir, 'data')]
    : [process.execPath, ...bunFlags, path.join(values.tree, 'src/cli/main.ts'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--data', path.join(dir, 'data'), '--log-level', 'warn'];
if (values['no-sync'] && values.server !== 'limit') argv.push('--no-sync');
const server = await ServerProcess.start({ argv, logFile: path.join(dir, 'server.log'), cores: '' }, `${base}/v2/`);

async function push(load: Omit<PushLoad, 'baseUrl' | 'mode' | 'repo'>): Promise<LoadResult> {
  const full: PushLoad = { baseUrl: base, mode: 'monolithic', repo: 'rss/push', ...load };
  const out = await runChild([process.execPath, path.join(here, 'load/push-load.ts'), JSON.stringify(full)], '', (load.capSec + 60) * 1000);
  return JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}') as LoadResult;
}

try {
  // The blob the pullers read: one push by an extra client seed (index = pushers), committed before the window.
  const pulled = pushContent(size, pushers);
  const seeded = await push({ clients: 1, windowSec: 1, capSec: 300, maxPerClient: 1, blob: { size, chunkSize: 8 * MiB, seeds: [pulled.seed], digests: [pulled.digest()] } });
  if (seeded.requests !== 1) throw new Error(`seeding the pulled blob failed: ${seeded.firstError}`);
  const contents = Array.from({ length: pushers }, (_, i) => pushContent(size, i));
  const idle = statusBytes(server.pid, 'VmRSS');
  console.log(`server ${values.server === 'limit' ? 'limit' : values.tree} pid ${server.pid}; ${pushers} pushing + ${pullers} pulling ${size / MiB} MiB for ${windowSec} s; idle RSS ${(idle / MiB).toFixed(1)} MiB; load ${os.loadavg()[0]!.toFixed(2)}`);
  for (let r = 0; r < rounds; r++) {
    resetPeakRss(server.pid);
    let sampled = 0;
    const sampler = setInterval(() => (sampled = Math.max(sampled, statusBytes(server.pid, 'VmRSS'))), 20);
    const pull: HttpLoad = { baseUrl: base, method: 'GET', paths: [`/v2/rss/push/blobs/${pulled.digest()}`], headers: {}, connections: pullers, durationSec: windowSec, maxRequests: 1_000_000, okStatus: [200] };
    const [pushed, pulledResult] = await Promise.all([
      push({ clients: pushers, windowSec, capSec: windowSec, maxPerClient: 1000, blob: { size, chunkSize: 8 * MiB, seeds: contents.map((c) => c.seed), digests: contents.map((c) => c.digest()) } }),
      pullers > 0 ? runChild([process.execPath, path.join(here, 'load/bun-load.ts'), JSON.stringify(pull)], '', (windowSec + 60) * 1000).then((o) => JSON.parse(o.stdout.trim().split('\n').at(-1) ?? '{}') as LoadResult) : undefined,
    ]);
    clearInterval(sampler);
    const hwm = statusBytes(server.pid, 'VmHWM');
    const pushedMiB = pushed.bytes / MiB;
    console.log(
      `round ${r + 1}: peak RSS (VmHWM) ${(hwm / MiB).toFixed(1)} MiB, sampled max ${(sampled / MiB).toFixed(1)} MiB; ` +
        `pushes completed ${pushed.requests} (${pushedMiB.toFixed(0)} MiB, errors ${pushed.errors}${pushed.firstError ? `: ${pushed.firstError}` : ''}); ` +
        `pulled ${pulledResult ? (pulledResult.bytes / MiB / pulledResult.seconds).toFixed(0) : 0} MiB/s`,
    );
    // Uploads cut at the cap leave partial files; the server's idle purge is not what this measures.
    for (const name of fs.existsSync(path.join(dir, 'data/uploads')) ? fs.readdirSync(path.join(dir, 'data/uploads')) : []) fs.rmSync(path.join(dir, 'data/uploads', name), { force: true });
  }
} finally {
  await server.stop();
  if (values.log) fs.copyFileSync(path.join(dir, 'server.log'), values.log);
  fs.rmSync(dir, { recursive: true, force: true });
}
