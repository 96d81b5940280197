/** `marina cache export` (and `warm`): the lifecycle actions of `marina cache`, kept apart from ls/prune. */
import * as path from 'node:path';
import { exportLayout } from '../layout/export-layout.ts';
import { createLogger } from '../logger.ts';
import { createRegistry } from '../registry.ts';
import { fsStorage } from '../storage/storage.ts';
import { formatBytes } from './cache.ts';
import { serveConfig } from './serve.ts';

export const EXPORT_HELP = `Usage: marina cache export <ref>... --oci-layout <dir> [serve options]

Writes the images <ref> (repo:tag or repo@digest; indexes with every platform, referrers included) from a data
directory into a standard OCI image layout (oci-layout, index.json with org.opencontainers.image.ref.name
annotations, blobs/sha256/...). Adds to an existing layout; blob files already there are kept, so an interrupted
export resumes. Move the directory to another network and load it with 'marina import <dir>', or copy an image
out of it with 'skopeo copy oci:<dir>:<repo:tag> ...'.
`;

/** Runs `marina cache export`. */
export async function cacheExport(argv: string[]): Promise<void> {
  const refs: string[] = [];
  const options: string[] = [];
  let layout: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--oci-layout') layout = argv[++i];
    else if (arg.startsWith('--oci-layout=')) layout = arg.slice('--oci-layout='.length);
    else if (!arg.startsWith('-')) refs.push(arg);
    else if (arg.startsWith('--') && !arg.includes('=') && !BOOLEAN_FLAGS.has(arg) && i + 1 < argv.length) options.push(arg, argv[++i]!);
    else options.push(arg);
  }
  const config = serveConfig(options, process.env);
  if (config === 'help') {
    process.stdout.write(EXPORT_HELP);
    return;
  }
  if (!layout) throw new Error('--oci-layout <dir> is required');
  if (!refs.length) throw new Error('name at least one image, e.g. marina cache export team/app:v1 --oci-layout ./seed');
  const registry = createRegistry({ storage: fsStorage({ root: path.resolve(config.data) }), logger: createLogger('warn', config.logFormat) });
  try {
    const started = performance.now();
    const report = await exportLayout(registry, refs, path.resolve(layout), (m) => process.stdout.write(`  ${m}\n`));
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`exported ${report.images} images (${report.manifests} manifests, ${report.blobs} blobs, ${formatBytes(report.bytes)}) to ${layout} in ${seconds.toFixed(1)} s\n`);
  } finally {
    await registry.close();
  }
}

/** Serve flags without a value: the word after them is an image reference. */
export const BOOLEAN_FLAGS = new Set(['--no-delete', '--read-only', '--no-referrers', '--no-sync', '--help']);
