/** `marina serve`: run the registry over HTTP until SIGTERM/SIGINT, then drain in-flight requests and close. */
import { Elysia } from 'elysia';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../logger.ts';
import { createRegistry } from '../registry.ts';
import { fsStorage } from '../storage/storage.ts';
import { parseMirrorSpec, readConfigFile, readEnv, resolveConfig, ENV_NAMES, type ServeConfig } from './config.ts';
import { mirrorOptions } from './mirror-config.ts';
import { VERSION } from './version.ts';

export const SERVE_HELP = `Usage: marina serve [options]

Runs the OCI registry on HTTP.

Options:
  --host <addr>            address to listen on            (default 127.0.0.1, env ${ENV_NAMES.host})
  --port <n>               port; 0 picks a free one         (default 5000, env ${ENV_NAMES.port})
  --data <dir>             data directory                   (default ./data, env ${ENV_NAMES.data})
  --config <file>          settings file (.json or .toml)   (env MARINA_CONFIG)
  --log-level <level>      debug|info|warn|error|silent     (default info, env ${ENV_NAMES.logLevel})
  --log-format <fmt>       text|json                        (default text, env ${ENV_NAMES.logFormat})
  --no-delete              refuse DELETE requests (405)     (env ${ENV_NAMES.deleteEnabled}=false)
  --read-only              refuse every write (405)         (env ${ENV_NAMES.readOnly}=true)
  --no-referrers           turn off the referrers API       (env ${ENV_NAMES.referrersEnabled}=false)
  --max-manifest-size <n>  largest manifest in bytes        (default 4194304, env ${ENV_NAMES.maxManifestSize})
  --no-sync                skip fsync on commit (tests only; unsafe on power loss)
  --mirror <name=url>      mirror an upstream registry, repeatable   (env MARINA_MIRRORS=a=url,b=url)
                           e.g. --mirror docker.io=https://registry-1.docker.io
  --mirror-default <name>  upstream for plain names (default: the first --mirror)
  --mirror-freshness <s>   seconds a mirrored tag is served before revalidation (default 300)
  --mirror-stale-while-revalidate <s>
                           seconds past freshness a tag is answered at once while it is revalidated in the
                           background (default 86400; 0: revalidate before answering)
  --mirror-stale-if-error <s>
                           seconds past freshness a cached tag may stand in for a failing upstream (default: no limit)
  --cache-max <size>       mirror cache budget, e.g. 50GiB; least recently used images are evicted
  -h, --help               show this help

Precedence: flags > environment > config file > defaults.
`;

/** Parses argv and environment into a config. Exported for tests. */
export function serveConfig(argv: string[], env: Record<string, string | undefined>): ServeConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      data: { type: 'string' },
      config: { type: 'string' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      'no-delete': { type: 'boolean' },
      'read-only': { type: 'boolean' },
      'no-referrers': { type: 'boolean' },
      'max-manifest-size': { type: 'string' },
      'no-sync': { type: 'boolean' },
      mirror: { type: 'string', multiple: true },
      'mirror-default': { type: 'string' },
      'mirror-freshness': { type: 'string' },
      'mirror-stale-while-revalidate': { type: 'string' },
      'mirror-stale-if-error': { type: 'string' },
      'cache-max': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const file = values.config ?? env.MARINA_CONFIG;
  const flags: Record<string, unknown> = {
    host: values.host,
    port: values.port,
    data: values.data,
    logLevel: values['log-level'],
    logFormat: values['log-format'],
    deleteEnabled: values['no-delete'] ? false : undefined,
    readOnly: values['read-only'] ? true : undefined,
    referrersEnabled: values['no-referrers'] ? false : undefined,
    maxManifestSize: values['max-manifest-size'],
    sync: values['no-sync'] ? false : undefined,
    mirrors: values.mirror?.map(parseMirrorSpec),
    mirrorDefault: values['mirror-default'],
    mirrorFreshness: values['mirror-freshness'],
    mirrorStaleWhileRevalidate: values['mirror-stale-while-revalidate'],
    mirrorStaleIfError: values['mirror-stale-if-error'],
    cacheMax: values['cache-max'],
  };
  return resolveConfig(file ? readConfigFile(file) : {}, readEnv(env), flags);
}

/** Runs `marina serve`. Resolves when the server has shut down. */
export async function serve(argv: string[]): Promise<void> {
  const config = serveConfig(argv, process.env);
  if (config === 'help') {
    process.stdout.write(SERVE_HELP);
    return;
  }
  const logger = createLogger(config.logLevel, config.logFormat);
  const data = path.resolve(config.data);
  const registry = createRegistry({
    storage: fsStorage({ root: data, sync: config.sync }),
    deleteEnabled: config.deleteEnabled,
    readOnly: config.readOnly,
    referrersEnabled: config.referrersEnabled,
    maxManifestSize: config.maxManifestSize,
    mirror: mirrorOptions(config, process.env),
    logger,
  });
  const app = new Elysia().use(registry.plugin);
  const server = Bun.serve({
    hostname: config.host,
    port: config.port,
    fetch: (request) => (shortAuthority(request.url) ? registry.fetch(request) : app.fetch(request)),
    // Blob uploads are streamed to disk, so the body limit is no memory risk; Bun's 128 MiB default would cut pushes.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    // Large commits (hash check + fsync) and slow clients must not hit Bun's 10 s idle default.
    idleTimeout: 0,
    error(error) {
      logger.error('unhandled server error', { error });
      return new Response(null, { status: 500 });
    },
  });
  const mode = [config.readOnly ? 'read-only registry' : 'registry', ...config.mirrors.map((m) => `mirror ${m.name}=${m.url}`)].join(', ');
  logger.info(`marina ${VERSION} listening on http://${formatHost(server.hostname ?? config.host)}:${server.port}`, {
    address: `${server.hostname}:${server.port}`,
    data,
    mode,
    deletes: config.deleteEnabled,
    referrers: config.referrersEnabled,
  });

  await new Promise<void>((resolve) => {
    const stop = async (signal: string) => {
      logger.info('shutting down: finishing in-flight requests', { signal });
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      await server.stop(false);
      const stats = registry.mirror?.stats();
      await registry.close();
      logger.info('stopped', stats ? { mirror: stats } : undefined);
      resolve();
    };
    const onTerm = () => void stop('SIGTERM');
    const onInt = () => void stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Elysia 1.4 locates the path with `url.indexOf('/', 11)`, which assumes an authority of at least four characters;
 * requests with a shorter Host (`reg`, `r:1`) go straight to the registry handler, which parses URLs itself.
 */
function shortAuthority(url: string): boolean {
  const start = url.indexOf('://') + 3;
  const slash = url.indexOf('/', start);
  return slash - start < 4;
}
