/**
 * Image pushes (the harness's `image-push` case: per blob HEAD 404, POST, PUT; then the manifest PUT) against
 * several servers side by side, rounds alternating A B C A B C …, each server pinned to core 0 and the push client
 * to core 1 as in the harness's pinned placement. Prints images/s and server CPU ms per image, median [min–max].
 * Servers: `marina` (this tree), `tree:DIR` (`marina serve` from another checkout), `limit` (the bare Bun handler);
 * `--marina-flags` adds `serve` flags (e.g. `--no-sync`) to every Marina.
 * Usage: bun bench/ab/image-push.ts [--servers marina,limit] [--rounds 4] [--window 5] [--clients 16] [--layers 5] [--layer-kib 256] [--pin 0,1] [--bun-flags="--cpu-prof"]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { runChild } from '../lib/child.ts';
import { cpuSeconds } from '../lib/proc-stats.ts';

/** User and system CPU seconds of a process (all threads). */
function cpuSplit(pid: number): [number, number] {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(f[11]) / 100, Number(f[12]) / 100];
}
import { freePort, ServerProcess } from '../lib/server-process.ts';
import type { PushLoad } from '../load/push-load.ts';
import type { LoadResult } from '../load/types.ts';

const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: 'marina,limit' },
    rounds: { type: 'string', default: '4' },
    window: { type: 'string', default: '5' },
    clients: { type: 'string', default: '16' },
    layers: { type: 'string', default: '5' },
    'layer-kib': { type: 'string', default: '256' },
    pin: { type: 'string', default: '0,1' },
    'bun-flags': { type: 'string', default: '' },
    'marina-flags': { type: 'string', default: '' },
  },
});
const here = path.resolve(import.meta.dir, '..');
const self = path.resolve(here, '..');
const [serverCores, loadCores] = values.pin === 'none' ? ['', ''] : values.pin.split(',');
const rounds = Math.min(50, Number(values.rounds));
const windowSec = Math.min(60, Number(values.window));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-ab-image-'));

interface Running {
  name: string;
  server: ServerProcess;
  base: string;
  rates: number[];
  cpuPerImage: number[];
  sysPerImage: number[];
}

async function start(name: string, i: number): Promise<Running> {
  const port = await freePort();
  const dir = path.join(work, `s${i}`);
  const bunFlags = values['bun-flags'].split(' ').filter(Boolean);
  const marina = (tree: string) => [process.execPath, ...bunFlags, path.join(tree, 'src/cli/main.ts'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--data', dir, '--log-level', 'warn', ...values['marina-flags'].split(' ').filter(Boolean)];
  const argv = name === 'limit' ? [process.execPath, ...bunFlags, path.join(here, 'targets/limit-server.ts'), '--port', String(port), '--dir', dir] : marina(name.startsWith('tree:') ? name.slice(5) : self);
  const base = `http://127.0.0.1:${port}`;
  const server = await ServerProcess.start({ argv, logFile: path.join(work, `s${i}.log`), cores: serverCores ?? '' }, `${base}/v2/`);
  return { name, server, base, rates: [], cpuPerImage: [], sysPerImage: [] };
}

const running: Running[] = [];
try {
  for (const [i, name] of values.servers.split(',').entries()) running.push(await start(name, i));
  console.log(`image push: ${values.clients} clients, config + ${values.layers} × ${values['layer-kib']} KiB, ${windowSec} s windows, ${rounds} rounds, pin ${values.pin}, load ${os.loadavg()[0]!.toFixed(2)}`);
  for (let r = -1; r < rounds; r++) {
    const order = r % 2 ? running : [...running].reverse();
    for (const t of order) {
      const load: PushLoad = {
        baseUrl: t.base,
        mode: 'image',
        repo: 'ab/image',
        clients: Number(values.clients),
        windowSec: r < 0 ? 1 : windowSec,
        capSec: windowSec + 60,
        maxPerClient: 100_000,
        image: { layers: Number(values.layers), layerSize: Number(values['layer-kib']) * 1024, nonce: `${t.name}-${r}-${Date.now()}` },
      };
      const cpu0 = cpuSeconds(t.server.pid);
      const sys0 = cpuSplit(t.server.pid)[1];
      const out = await runChild([process.execPath, path.join(here, 'load/push-load.ts'), JSON.stringify(load)], loadCores ?? '', (load.capSec + 30) * 1000);
      const result = JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}') as LoadResult;
      if (result.errors) throw new Error(`${t.name}: ${result.errors} errors: ${result.firstError}`);
      if (r < 0) continue; // warm-up
      t.rates.push(result.requests / result.seconds);
      t.cpuPerImage.push(((cpuSeconds(t.server.pid) - cpu0) * 1000) / result.requests);
      t.sysPerImage.push(((cpuSplit(t.server.pid)[1] - sys0) * 1000) / result.requests);
    }
  }
  const fmt = (xs: number[], d = 1) => {
    const s = [...xs].sort((a, b) => a - b);
    return `${s[Math.floor(s.length / 2)]!.toFixed(d)} [${s[0]!.toFixed(d)}–${s.at(-1)!.toFixed(d)}]`;
  };
  console.log('| server | images/s | server CPU ms / image | of which system |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const t of running) console.log(`| ${t.name} | ${fmt(t.rates)} | ${fmt(t.cpuPerImage, 2)} | ${fmt(t.sysPerImage, 2)} |`);
} finally {
  for (const t of running) await t.server.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
