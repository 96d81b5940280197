/** `marina retention run`: apply the configured retention rules to a data directory once. */
import * as path from 'node:path';
import { createLogger } from '../logger.ts';
import { createRegistry } from '../registry.ts';
import { formatBytes } from './cache.ts';
import { parseDuration } from './config.ts';
import { lifecycleOptions } from './lifecycle-config.ts';
import { serveConfig } from './serve.ts';
import { takeFlag } from './argv.ts';
import { openStorage } from './storage-config.ts';

export const RETENTION_HELP = `Usage: marina retention run [--dry-run] [--grace <duration>] [serve options]

Applies the retention rules of the configuration (the 'retention' list of a --config file, or MARINA_RETENTION as
JSON) once: deletes the tags and manifests they select, with the usual delete events, and reports how many bytes
of blobs become unreferenced (a following 'marina gc' frees them). Takes the same options as 'marina serve'
(at least --data and --config).

  --dry-run            list what would be deleted; delete nothing
  --grace <duration>   untagged manifests younger than this always stay (default 10m)
  -h, --help           show this help

Run it against a data directory no server is using, or let 'marina serve' run the rules on its
'retentionSchedule': a server does not see locks taken by another process.
`;

/** Runs `marina retention …`. */
export async function retention(argv: string[]): Promise<void> {
  const [action, ...rest] = argv;
  if (action !== 'run') {
    process.stdout.write(RETENTION_HELP);
    if (action && action !== '--help' && action !== '-h') throw new Error(`unknown retention action '${action}'`);
    return;
  }
  const dryRun = takeFlag(rest, '--dry-run', false) !== undefined;
  const grace = takeFlag(rest, '--grace', true);
  const config = serveConfig(rest, process.env);
  if (config === 'help') {
    process.stdout.write(RETENTION_HELP);
    return;
  }
  const { retention: rules } = lifecycleOptions(config);
  if (!rules.length) throw new Error('no retention rules configured: add a "retention" list to the --config file (see README "Lifecycle")');
  const data = path.resolve(config.data);
  const registry = createRegistry({ storage: await openStorage(config), retention: rules, logger: createLogger('warn', config.logFormat) });
  try {
    process.stdout.write(`retention in ${data}${dryRun ? ' (dry run)' : ''}: ${rules.length} rule(s)\n`);
    const report = await registry.runRetention({ dryRun, graceMs: grace !== undefined ? parseDuration(grace) : undefined, onProgress: (m) => process.stdout.write(`  ${m}\n`) });
    const verb = dryRun ? 'would be deleted' : 'deleted';
    process.stdout.write(
      `${report.repositories} repositories with rules; ${report.tags} tags and ${report.manifests} manifests ${verb}; ` +
        `${report.freedBlobs} blobs (${formatBytes(report.freedBytes)}, ${report.freedBytes} bytes) ${dryRun ? 'would become' : 'became'} unreferenced` +
        `${report.freedBlobs ? ' (marina gc frees them)' : ''}\n`,
    );
  } finally {
    await registry.close();
  }
}
