/** `marina gc`: garbage-collect a registry's storage (unreferenced blob links, then unlinked blobs). */
import * as path from 'node:path';
import { createLogger } from '../logger.ts';
import { createRegistry } from '../registry.ts';
import { takeFlag } from './argv.ts';
import { formatBytes } from './cache.ts';
import { serveConfig } from './serve.ts';
import { openStorage } from './storage-config.ts';

export const GC_HELP = `Usage: marina gc [options]

Removes blob links that no manifest of their repository references, then blobs that no repository links, from
the storage 'marina serve' would use with the same options: the data directory, and with --blobs s3://… (or
'blobs' in the --config file, or MARINA_BLOBS) the S3 bucket, with --index postgres://… (or MARINA_INDEX) the
PostgreSQL index. Links used within the grace period (pushed,
mounted, found by a HEAD, named by a manifest put) and blobs written within it (file or S3 object time) are
kept, so pushes in progress are safe. It can run beside servers on the same data directory: each
removal is re-checked inside the index's write transaction, and a file is deleted only while no push holds it.

Options (and the storage options of 'marina serve': --data, --config, --blobs, --s3-endpoint, --s3-region, --index):
  --data <dir>        data directory (default ./data, env MARINA_DATA)
  --blobs <s3://bucket/prefix>  blobs in S3; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
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
  const rest = [...argv];
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(GC_HELP);
    return;
  }
  const grace = takeFlag(rest, '--grace', true);
  const dryRun = takeFlag(rest, '--dry-run', false) !== undefined;
  if (grace !== undefined && !/^\d{1,10}$/.test(grace)) throw new Error(`--grace must be a whole number of seconds, got "${grace}"`);
  const config = serveConfig(rest, process.env);
  if (config === 'help') {
    process.stdout.write(GC_HELP);
    return;
  }
  const data = path.resolve(config.data);
  const registry = createRegistry({ storage: await openStorage(config), logger: createLogger('warn') });
  try {
    process.stdout.write(`collecting garbage in ${config.blobs ? `${data} and ${config.blobs}` : data}${dryRun ? ' (dry run)' : ''}\n`);
    const report = await registry.collectGarbage({
      graceMs: grace !== undefined ? Number(grace) * 1000 : undefined,
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
