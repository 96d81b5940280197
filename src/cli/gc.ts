/** `marina gc`: garbage-collect a data directory (unreferenced blob links, then unlinked blob files). */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../logger.ts';
import { createRegistry } from '../registry.ts';
import { fsStorage } from '../storage/storage.ts';
import { formatBytes } from './cache.ts';

export const GC_HELP = `Usage: marina gc [options]

Removes blob links that no manifest of their repository references, then blob files that no repository links.
Links used within the grace period (pushed, mounted, found by a HEAD, named by a manifest put) and files younger
than it are kept, so pushes in progress are safe. It can run beside servers on the same data directory: each
removal is re-checked inside the index's write transaction, and a file is deleted only while no push holds it.

Options:
  --data <dir>        data directory (default ./data, env MARINA_DATA)
  --grace <seconds>   keep links used and files written within this (default 3600); longer than your slowest
                      push; 0 only when nobody pushes
  --dry-run           report the links that would be removed and the files that would then be unlinked;
                      remove nothing
  -h, --help          show this help

Opening the index beside a live server waits, at most 10 s, for the commits in flight (README, garbage
collection: why lmdb-js needs this).
`;

/** Runs `marina gc`. */
export async function gc(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { data: { type: 'string' }, grace: { type: 'string' }, 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(GC_HELP);
    return;
  }
  if (values.grace !== undefined && !/^\d{1,10}$/.test(values.grace)) throw new Error(`--grace must be a whole number of seconds, got "${values.grace}"`);
  const data = path.resolve(values.data ?? process.env.MARINA_DATA ?? './data');
  const registry = createRegistry({ storage: fsStorage({ root: data }), logger: createLogger('warn') });
  try {
    const dryRun = values['dry-run'] ?? false;
    process.stdout.write(`collecting garbage in ${data}${dryRun ? ' (dry run)' : ''}\n`);
    const report = await registry.collectGarbage({
      graceMs: values.grace !== undefined ? Number(values.grace) * 1000 : undefined,
      dryRun,
      onProgress: (message) => process.stdout.write(`  ${message}\n`),
    });
    process.stdout.write(
      `${report.repositories} repositories scanned; ${report.unlinked} links and ${report.deletedBlobs} blobs (${formatBytes(report.freedBytes)}) ${dryRun ? 'would be removed' : 'removed'}\n`,
    );
  } finally {
    await registry.close();
  }
}
