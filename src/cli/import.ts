/** `marina import <dir>`: load an OCI image layout into a data directory, verifying every blob by digest. */
import * as path from 'node:path';
import { importLayout } from '../layout/import-layout.ts';
import { createLogger } from '../logger.ts';
import { createRegistry } from '../registry.ts';
import { fsStorage } from '../storage/storage.ts';
import { formatBytes } from './cache.ts';
import { BOOLEAN_FLAGS } from './cache-lifecycle.ts';
import { serveConfig } from './serve.ts';

export const IMPORT_HELP = `Usage: marina import <dir> [--repository <name>] [serve options]

Loads an OCI image layout (as written by 'marina cache export', skopeo, crane or oras) into a data directory.
Every blob is streamed through an upload and verified by digest; manifests are checked by digest and size.
Images go to the repository their org.opencontainers.image.ref.name names (repo:tag), or all to --repository
(then only the tag part of ref.name is used). Takes the same options as 'marina serve' (at least --data).
`;

/** Runs `marina import`. */
export async function importCommand(argv: string[]): Promise<void> {
  let repository: string | undefined;
  const dirs: string[] = [];
  const options: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--repository') repository = argv[++i];
    else if (!arg.startsWith('-')) dirs.push(arg);
    else if (arg.startsWith('--') && !arg.includes('=') && !BOOLEAN_FLAGS.has(arg) && i + 1 < argv.length) options.push(arg, argv[++i]!);
    else options.push(arg);
  }
  const config = serveConfig(options, process.env);
  if (config === 'help' || dirs.length !== 1) {
    process.stdout.write(IMPORT_HELP);
    if (config !== 'help') throw new Error('name exactly one layout directory');
    return;
  }
  const registry = createRegistry({ storage: fsStorage({ root: path.resolve(config.data), sync: config.sync }), logger: createLogger('warn', config.logFormat) });
  try {
    const report = await importLayout(registry, path.resolve(dirs[0]!), repository, (m) => process.stdout.write(`  ${m}\n`));
    for (const tag of report.tags) process.stdout.write(`  tagged ${tag}\n`);
    process.stdout.write(`imported ${report.manifests} manifests and ${report.blobs} blobs (${formatBytes(report.bytes)}), verified by digest; ${report.tags.length} tags\n`);
  } finally {
    await registry.close();
  }
}
