/** `marina cache ls|prune`: inspect and trim the pull-through mirror's cache in a data directory. */
import * as path from 'node:path';
import { createLogger } from '../logger.ts';
import { createRegistry } from '../registry.ts';
import { fsStorage } from '../storage/storage.ts';
import { parseSize } from './config.ts';
import { mirrorOptions } from './mirror-config.ts';
import { serveConfig } from './serve.ts';
import { cacheExport, cacheWarm } from './cache-lifecycle.ts';

export const CACHE_HELP = `Usage: marina cache <ls|prune|export|warm> [options]

Inspects or trims the mirror cache kept in a data directory. Takes the same options as 'marina serve'
(at least --data and the --mirror upstreams, or a --config file naming them).

  ls                       list cached images (least recently used first) and the cache counters
  prune [--to <size>]      evict least recently used images until the cache is below <size>
                           (default: --cache-low-watermark, 0.8, of --cache-max)
  export <ref>... --oci-layout <dir>   write images as an OCI image layout (see 'marina cache export --help')
  warm <ref>...            pull images through the mirror into the cache (see 'marina cache warm --help')

A blob file is deleted only while no repository links it and no push or fill holds it, checked inside the index's
write transaction, so pruning beside a live server is safe.
`;

/** Runs `marina cache …`. */
export async function cache(argv: string[]): Promise<void> {
  const [action, ...rest] = argv;
  // --- lifecycle actions (src/cli/cache-lifecycle.ts) ---
  if (action === 'export') return cacheExport(rest);
  if (action === 'warm') return cacheWarm(rest);
  // --- end lifecycle actions ---
  if (!action || action === '--help' || action === '-h' || (action !== 'ls' && action !== 'prune')) {
    process.stdout.write(CACHE_HELP);
    if (action && action !== '--help' && action !== '-h') throw new Error(`unknown cache action '${action}'`);
    return;
  }
  const toIndex = rest.indexOf('--to');
  const to = toIndex >= 0 ? rest[toIndex + 1] : undefined;
  if (toIndex >= 0) rest.splice(toIndex, 2);
  if (toIndex >= 0 && to === undefined) throw new Error('--to needs a size, e.g. --to 10GiB');
  const config = serveConfig(rest, process.env);
  if (config === 'help') {
    process.stdout.write(CACHE_HELP);
    return;
  }
  const mirror = mirrorOptions(config, process.env);
  if (!mirror) throw new Error('no mirror configured: pass --mirror name=url (or a config file with mirrors)');
  const registry = createRegistry({ storage: fsStorage({ root: path.resolve(config.data) }), mirror, logger: createLogger('warn', config.logFormat) });
  try {
    const m = registry.mirror!;
    if (action === 'ls') {
      const images = m.ledger.leastRecentlyUsed(Number.MAX_SAFE_INTEGER);
      for (const image of images) {
        process.stdout.write(`${new Date(image.lastAccess).toISOString()}  ${formatBytes(image.size).padStart(10)}  ${image.repository}@${image.digest}\n`);
      }
      process.stdout.write(`${images.length} cached images, ${formatBytes(m.ledger.totalBytes())} of mirrored content\n`);
      return;
    }
    const target = to !== undefined ? parseSize(to) : config.cacheMax !== undefined ? config.cacheMax * config.cacheLowWatermark : undefined;
    if (target === undefined) throw new Error('prune needs --to <size> or --cache-max');
    const before = m.ledger.totalBytes();
    process.stdout.write(`pruning from ${formatBytes(before)} to below ${formatBytes(target)}\n`);
    let n = 0;
    const result = await m.evict(target, (message) => process.stdout.write(`[${++n}] ${message}\n`));
    process.stdout.write(`evicted ${result.images} images, freed ${formatBytes(result.bytes)}; cache now ${formatBytes(m.ledger.totalBytes())}\n`);
  } finally {
    await registry.close();
  }
}

/** Bytes as a short human size (KiB, MiB, GiB). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}
