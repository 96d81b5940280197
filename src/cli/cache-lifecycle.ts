/** `marina cache export` (and `warm`): the lifecycle actions of `marina cache`, kept apart from ls/prune. */
import * as path from 'node:path';
import { exportLayout } from '../layout/export-layout.ts';
import { createLogger } from '../logger.ts';
import { createRegistry } from '../registry.ts';
import { fsStorage } from '../storage/storage.ts';
import { formatBytes } from './cache.ts';
import { serveConfig } from './serve.ts';
import { mirrorOptions } from './mirror-config.ts';
import { warmImages, type FetchLike } from '../lifecycle/warm.ts';

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

export const WARM_HELP = `Usage: marina cache warm <ref>... [--platform os/arch]... [--concurrency n] [--url <url> [--user name:password]]

Pulls images through the pull-through mirror into its cache ahead of use: the manifest, then every platform of an
index (or only those named by --platform, repeatable; default: the config's warmPlatforms, else all), then every
blob not cached yet (HEAD first; cached blobs are skipped, so an interrupted warm-up resumes where it stopped).
<ref> is a mirrored reference as clients write it, e.g. docker.io/library/alpine:3.20.

  --platform <os/arch>   take only this platform from an index (repeatable)
  --concurrency <n>      blobs fetched at once (default 4)
  --url <url>            warm a running server over HTTP instead of opening --data
  --user <name:pw>       Basic credentials for --url (or MARINA_WARM_USER)
  Other options as for 'marina serve' (without --url: --data and the --mirror upstreams, or --config).

A running server does the same on POST /admin/warm and for its 'warm' list (see README "Lifecycle").
`;

/** Runs `marina cache warm`. */
export async function cacheWarm(argv: string[]): Promise<void> {
  const refs: string[] = [];
  const options: string[] = [];
  const platforms: string[] = [];
  let concurrency: number | undefined;
  let url: string | undefined;
  let user = process.env.MARINA_WARM_USER;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--platform') platforms.push(argv[++i] ?? '');
    else if (arg === '--concurrency') {
      const value = argv[++i] ?? '';
      if (!/^[0-9]{1,2}$/.test(value) || Number(value) < 1) throw new Error(`--concurrency must be 1..64, got "${value}"`);
      concurrency = Number(value);
    } else if (arg === '--url') url = argv[++i];
    else if (arg === '--user') user = argv[++i];
    else if (!arg.startsWith('-')) refs.push(arg);
    else if (arg.startsWith('--') && !arg.includes('=') && !BOOLEAN_FLAGS.has(arg) && i + 1 < argv.length) options.push(arg, argv[++i]!);
    else options.push(arg);
  }
  const config = serveConfig(options, process.env);
  if (config === 'help') {
    process.stdout.write(WARM_HELP);
    return;
  }
  if (!refs.length) refs.push(...(config.warm ?? []));
  if (!refs.length) throw new Error('name at least one image, e.g. marina cache warm docker.io/library/alpine:3.20');
  const warmOptions = {
    platforms: platforms.length ? platforms : config.warmPlatforms,
    concurrency: concurrency ?? config.warmConcurrency,
    onProgress: (m: string) => process.stdout.write(`  ${m}\n`),
  };
  let fetcher: FetchLike;
  let close = async () => {};
  if (url) {
    if (!/^https?:\/\//.test(url)) throw new Error(`--url must be http(s)://host:port, got "${url}"`);
    const headers = user ? { Authorization: `Basic ${Buffer.from(user).toString('base64')}` } : undefined;
    Object.assign(warmOptions, { baseUrl: url, headers });
    fetcher = (request) => fetch(request);
  } else {
    const mirror = mirrorOptions(config, process.env);
    if (!mirror) throw new Error('no mirror configured: pass --mirror name=url (or a config file with mirrors), or --url of a running server');
    const registry = createRegistry({ storage: fsStorage({ root: path.resolve(config.data), sync: config.sync }), mirror, logger: createLogger('warn', config.logFormat) });
    fetcher = (request) => registry.fetch(request);
    close = () => registry.close();
  }
  try {
    const r = await warmImages(fetcher, refs, warmOptions);
    for (const failure of r.failures) process.stdout.write(`  failed: ${failure}\n`);
    process.stdout.write(
      `warmed ${r.images} of ${refs.length} images (${r.manifests} manifests${r.skippedPlatforms ? `, ${r.skippedPlatforms} platforms skipped` : ''}): ` +
        `fetched ${r.fetchedBlobs} blobs (${formatBytes(r.fetchedBytes)}), already cached ${r.cachedBlobs} blobs (${formatBytes(r.cachedBytes)}) in ${r.seconds.toFixed(1)} s\n`,
    );
    if (r.failures.length) throw new Error(`${r.failures.length} failures`);
  } finally {
    await close();
  }
}
