/** `marina gc`: garbage-collect a data directory (unreferenced blob links, then unlinked blob files). */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../logger.ts';
import { createRegistry } from '../registry.ts';
import { fsStorage } from '../storage/storage.ts';
import { formatBytes } from './cache.ts';

export const GC_HELP = `Usage: marina gc [options]

Removes blob links that no manifest of their repository references, then blob files that no repository links.
Links and files younger than the grace period are kept, so pushes in progress are safe; it can run beside a server.

Options:
  --data <dir>        data directory (default ./data, env MARINA_DATA)
  --grace <seconds>   keep links and files younger than this (default 3600)
  --dry-run           report the links that would be removed and the files already unlinked; remove nothing
  -h, --help          show this help
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
