/** `marina serve`: run the registry over HTTP until SIGTERM/SIGINT, then drain in-flight requests and close. */
import { Elysia } from 'elysia';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../logger.ts';
import { createRegistry } from '../registry.ts';
import { fsStorage } from '../storage/storage.ts';
import { parseMirrorSpec, readConfigFile, readEnv, resolveConfig, ENV_NAMES, type ServeConfig } from './config.ts';
import { isUploadRequest } from '../http/body-reader.ts';
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
  --cache-max <size>       mirror cache budget, e.g. 50GiB; least recently used images are evicted
Limits (see README "Limits"):
  --idle-timeout <s>       close a connection that sends and receives nothing this long; also bounds the
                           head of a keep-alive request (default 60, 5..255, env ${ENV_NAMES.idleTimeout})
  --body-idle-timeout <s>  cut an upload body that sends nothing this long (408)  (default 60, env ${ENV_NAMES.bodyIdleTimeout})
  --min-body-rate <B/s>    cut an upload body averaging less per body-idle-timeout window (408; 0 = off)
                           (default 1024, env ${ENV_NAMES.minBodyRate})
  --upload-idle-timeout <s> purge upload sessions untouched this long  (default 86400, env ${ENV_NAMES.uploadIdleTimeout})
  --max-upload-size <size> largest blob upload, e.g. 10GiB (413)  (default 32GiB, env ${ENV_NAMES.maxUploadSize})
  --max-upload-sessions <n>  open upload sessions in the registry (429)  (default 4096, env ${ENV_NAMES.maxUploadSessions})
  --max-upload-sessions-per-repository <n>  open upload sessions per repository (429)
                           (default 512, env ${ENV_NAMES.maxUploadSessionsPerRepository})
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
      'cache-max': { type: 'string' },
      // Limits
      'idle-timeout': { type: 'string' },
      'body-idle-timeout': { type: 'string' },
      'min-body-rate': { type: 'string' },
      'upload-idle-timeout': { type: 'string' },
      'max-upload-size': { type: 'string' },
      'max-upload-sessions': { type: 'string' },
      'max-upload-sessions-per-repository': { type: 'string' },
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
    cacheMax: values['cache-max'],
    // Limits
    idleTimeout: values['idle-timeout'],
    bodyIdleTimeout: values['body-idle-timeout'],
    minBodyRate: values['min-body-rate'],
    uploadIdleTimeout: values['upload-idle-timeout'],
    maxUploadSize: values['max-upload-size'],
    maxUploadSessions: values['max-upload-sessions'],
    maxUploadSessionsPerRepository: values['max-upload-sessions-per-repository'],
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
    // Limits
    bodyIdleTimeoutMs: config.bodyIdleTimeout * 1000,
    minBodyRate: config.minBodyRate,
    uploadIdleTimeoutMs: config.uploadIdleTimeout * 1000,
    maxUploadSize: config.maxUploadSize,
    maxUploadSessions: config.maxUploadSessions,
    maxUploadSessionsPerRepository: config.maxUploadSessionsPerRepository,
  });
  const app = new Elysia().use(registry.plugin);
  const server = Bun.serve({
    hostname: config.host,
    port: config.port,
    fetch(request, server) {
      const handle = (r: Request) => (shortAuthority(r.url) ? registry.fetch(r) : app.fetch(r));
      // Limits: upload steps run without Bun's idle timer (it would cut slow-but-steady bodies and long commits);
      // their bodies have Marina's own idle deadline. Bun keeps the per-request value for the rest of the
      // connection, so it is put back before the response goes out: the next request head is bounded again.
      if (!isUploadRequest(request.method, request.url)) return handle(request);
      server.timeout(request, 0);
      return Promise.resolve(handle(request)).finally(() => restoreTimeout(server, request, config.idleTimeout));
    },
    // Upload sizes are capped by Marina (maxUploadSize, streamed to disk); Bun's 128 MiB default would cut pushes.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    // Closes connections that send and receive nothing: idle keep-alives, unfinished heads of a keep-alive's next
    // request, stalled downloads. Bun bounds the head of a connection's first request itself (about 10 s).
    idleTimeout: config.idleTimeout,
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

/** Puts Bun's idle timer back after an upload step; the connection may already be gone. */
function restoreTimeout(server: Bun.Server<undefined>, request: Request, seconds: number): void {
  try {
    server.timeout(request, seconds);
  } catch {
    // Closed by the client: nothing left to bound.
  }
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
