/**
 * Pull-through mirror benchmark (issue #6): cold and warm pull time and upstream blob bytes for N concurrent
 * clients, Marina as a mirror next to CNCF Distribution 2.8 as a pull-through cache, all on 127.0.0.1. The full
 * `bun bench/run.ts` runs the same benchmark as one of its phases; this command runs it alone.
 *
 *   bun bench/mirror.ts [--quick]   → bench/results/mirror.{md,json} (mirror-quick.{md,json} with --quick)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { killDescendants } from './lib/descendants.ts';
import { MIRROR_FULL, MIRROR_QUICK, runMirrorBench } from './mirror/bench.ts';
import { writeReport } from './mirror/report.ts';

const quick = process.argv.includes('--quick');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-mirror-bench-'));
const cleanup = (): void => fs.rmSync(work, { recursive: true, force: true });
// Interrupted: stop every server the benchmark started (upstream, mirrors), then exit non-zero.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void killDescendants().finally(() => {
      cleanup();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  });
}

try {
  const report = await runMirrorBench({
    profile: quick ? MIRROR_QUICK : MIRROR_FULL,
    command: ['bun', 'bench/mirror.ts', ...process.argv.slice(2)].join(' '),
    workdir: work,
    distribution: '/usr/bin/docker-registry',
    log: (line) => void process.stderr.write(`${line}\n`),
  });
  process.stdout.write(writeReport(path.join(import.meta.dir, 'results'), quick ? 'mirror-quick' : 'mirror', report));
} finally {
  cleanup();
}
