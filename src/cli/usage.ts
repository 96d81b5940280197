/** `marina usage`: storage used per repository (unique blob bytes its manifests reference) against its quota. */
import * as path from 'node:path';
import { createLogger } from '../logger.ts';
import { createRegistry } from '../registry.ts';
import { fsStorage } from '../storage/storage.ts';
import { formatBytes } from './cache.ts';
import { lifecycleOptions } from './lifecycle-config.ts';
import { serveConfig } from './serve.ts';

export const USAGE_HELP = `Usage: marina usage [repository...] [serve options]

Lists the bytes of unique blobs each repository's manifests reference (a layer shared by two images counts once;
a layer shared with another repository counts in each) and the quota that applies (the 'quotas' list of a --config
file). Without repository names it lists every repository. Reads one pass over each repository's manifests.
Takes the same options as 'marina serve' (at least --data, and --config for the quotas).
`;

/** Runs `marina usage`. */
export async function usage(argv: string[]): Promise<void> {
  const names: string[] = [];
  const options: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) names.push(arg);
    else if (arg.startsWith('--') && !arg.includes('=') && !FLAGS.has(arg) && i + 1 < argv.length) options.push(arg, argv[++i]!);
    else options.push(arg);
  }
  const config = serveConfig(options, process.env);
  if (config === 'help') {
    process.stdout.write(USAGE_HELP);
    return;
  }
  const registry = createRegistry({ storage: fsStorage({ root: path.resolve(config.data) }), quotas: lifecycleOptions(config).quotas, logger: createLogger('warn', config.logFormat) });
  try {
    const repositories = names.length ? names : (await registry.listRepositories()).items;
    let total = 0;
    for (const repository of repositories) {
      const u = await registry.usage(repository);
      total += u.bytes;
      const quota = u.quota ? `${formatBytes(u.quota.maxBytes)} (${Math.round((100 * u.bytes) / Math.max(1, u.quota.maxBytes))}%, rule "${u.quota.repositories}")` : '-';
      process.stdout.write(`${formatBytes(u.bytes).padStart(10)}  ${String(u.blobs).padStart(6)} blobs  ${String(u.manifests).padStart(6)} manifests  quota ${quota}  ${repository}\n`);
    }
    process.stdout.write(`${repositories.length} repositories, ${formatBytes(total)} referenced (shared layers counted in each repository)\n`);
  } finally {
    await registry.close();
  }
}

/** Boolean serve flags: the word after them is a repository name, not their value. */
const FLAGS = new Set(['--no-delete', '--read-only', '--no-referrers', '--no-sync', '--help']);
