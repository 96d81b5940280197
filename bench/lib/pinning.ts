/**
 * CPU pinning with `taskset`: servers on one set of cores, load generators (and this harness) on the rest, so a
 * server never competes with the client measuring it.
 */
import * as os from 'node:os';

/** Which cores go where, and whether pinning is in effect. */
export interface Pinning {
  /** Core list for servers, e.g. "0"; empty when not pinning. */
  server: string;
  /** Core list for load generators and the harness, e.g. "1". */
  load: string;
  enabled: boolean;
  /** One sentence for the report. */
  description: string;
}

/** Plans pinning: the first core for servers, the others for load. Disabled with one core or without taskset. */
export function planPinning(wanted: boolean): Pinning {
  const cores = os.availableParallelism();
  const taskset = Bun.which('taskset');
  if (!wanted || cores < 2 || !taskset) {
    const why = !wanted ? 'disabled by --no-pin' : cores < 2 ? 'only one core' : 'taskset not found';
    return { server: '', load: '', enabled: false, description: `not pinned (${why}); server and load share ${cores} core(s)` };
  }
  const load = cores === 2 ? '1' : `1-${cores - 1}`;
  return { server: '0', load, enabled: true, description: `taskset: every server on core 0, load generators and harness on core(s) ${load}` };
}

/** Prefixes a command so it runs on the given cores (unchanged when pinning is off). */
export function pinned(cores: string, argv: string[]): string[] {
  return cores ? ['taskset', '-c', cores, ...argv] : argv;
}

/** Moves every thread of this process onto the load cores. */
export function pinSelf(p: Pinning): void {
  if (!p.enabled) return;
  const r = Bun.spawnSync(['taskset', '-a', '-p', '-c', p.load, String(process.pid)], { stdout: 'ignore', stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`taskset -p failed: ${r.stderr.toString().trim()}`);
}

/**
 * Switches to the unpinned placement: servers and load generators started from now on may use every core, and
 * so may this process.
 */
export function unpin(p: Pinning): void {
  const all = `0-${os.availableParallelism() - 1}`;
  Bun.spawnSync(['taskset', '-a', '-p', '-c', all, String(process.pid)], { stdout: 'ignore', stderr: 'ignore' });
  p.server = '';
  p.load = '';
  p.enabled = false;
  p.description = `not pinned: every server and load generator free to use all ${os.availableParallelism()} cores`;
}
