/** `marina serve`: run the registry over HTTP until SIGTERM/SIGINT, then drain in-flight requests and close. */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, withoutCredentials } from '../logger.ts';
import { createOps } from '../ops/ops.ts';
import { listenMetrics } from '../ops/metrics-server.ts';
import { registerLiveSettings } from '../ops/live-settings.ts';
import { ConfigReloader } from '../ops/reload.ts';
import { LiveAuth } from '../ops/live-auth.ts';
import { catalogGuard } from '../ops/metrics-guard.ts';
import { createRegistry } from '../registry.ts';
import { recoverUploads } from '../storage/storage.ts';
import { redactedUrl } from '../storage/redacted-url.ts';
import { openStorage, withSharedMirrorLedger } from './storage-config.ts';
import { LmdbIndex } from '../storage/lmdb-index.ts';
import { parseMirrorSpec, readConfigFile, readEnv, resolveConfig, ENV_NAMES, type ServeConfig } from './config.ts';
import { isUploadRequest } from '../http/body-reader.ts';
import { mirrorOptions } from './mirror-config.ts';
import { isLoopback, serverAuth } from './auth-config.ts';
import { rememberClientAddress } from '../auth/client-address.ts';
import { TrustedProxies } from '../auth/trusted-proxies.ts';
import { hostGuard } from '../http/allowed-hosts.ts';
import { isPath, isRegistryPath, isTokenPath, isV2Path } from './url-paths.ts';
import { VERSION } from './version.ts';
import { isUiPath } from '../ui/paths.ts';
import { splitUrl } from '../http/paths.ts';
import { lifecycleOptions, scheduleMs } from './lifecycle-config.ts';
import { scheduleRetention, scheduleWarm, type Schedule } from './lifecycle-schedule.ts';
import { warmEndpoint, WARM_PATH } from '../http/warm-endpoint.ts';
import { startWorkers, workerCount, workerIndex, type WorkerPool } from './workers.ts';

export const SERVE_HELP = `Usage: marina serve [options]

Runs the OCI registry on HTTP (or HTTPS with --tls-cert/--tls-key).

Options:
  --host <addr>            address to listen on            (default 127.0.0.1, env ${ENV_NAMES.host})
  --port <n>               port; 0 picks a free one         (default 5000, env ${ENV_NAMES.port})
  --data <dir>             data directory                   (default ./data, env ${ENV_NAMES.data})
  --workers <n|auto>       processes sharing the port and data directory; auto: one per core
                           (default 1, env ${ENV_NAMES.workers})
  --locks <process|host>   host: independent servers (nodes, each on its own port) share --data on this
                           host: locks in locks.sqlite, fresh index reads, no start-up recovery
                           (default process, env ${ENV_NAMES.locks})
  --config <file>          settings file (.json or .toml)   (env MARINA_CONFIG)
  --log-level <level>      debug|info|warn|error|silent     (default info, env ${ENV_NAMES.logLevel})
  --log-format <fmt>       text|json                        (default text, env ${ENV_NAMES.logFormat})
  --no-delete              refuse DELETE requests (405)     (env ${ENV_NAMES.deleteEnabled}=false)
  --read-only              refuse every write (405)         (env ${ENV_NAMES.readOnly}=true)
  --no-referrers           turn off the referrers API       (env ${ENV_NAMES.referrersEnabled}=false)
  --max-manifest-size <n>  largest manifest in bytes        (default 4194304, env ${ENV_NAMES.maxManifestSize})
  --no-ui                  no web page at / and /ui/        (env ${ENV_NAMES.ui}=false)
  --no-sync                skip fsync on commit (tests only; unsafe on power loss)
  --access-log             one log line per request         (env ${ENV_NAMES.accessLog}=true)
  --metrics-addr <h:p>     serve /metrics (and health) on this address instead of the main one
                           (env ${ENV_NAMES.metricsAddr}); --no-metrics turns metrics off
  --watch-config           reload when the config file changes (env ${ENV_NAMES.watchConfig}=true)
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

Access control (without these flags the registry is open to anyone who can reach it):
  --auth <mode>            none|basic|token; default token when any of the below is set  (env ${ENV_NAMES.auth})
  --htpasswd <file>        users with bcrypt hashes (htpasswd -B)                         (env ${ENV_NAMES.htpasswd})
  --access <file>          access rules (.toml or .json): who may pull/push/delete/catalog (env ${ENV_NAMES.access})
  --token-key <file>       token signing key, PKCS#8 PEM or JWK (ES256/RS256)
                           (default: generated into <data>/auth/ on first start)          (env ${ENV_NAMES.tokenKey})
  --token-service <name>   service name and token audience     (default marina, env ${ENV_NAMES.tokenService})
  --token-realm <url>      token endpoint in challenges        (default <request origin>/token)
  --token-ttl <s>          lifetime of issued tokens           (default 300, env ${ENV_NAMES.tokenTtl})
  --token-issuer <iss>     also accept tokens of this issuer   (env ${ENV_NAMES.tokenIssuer})
  --token-jwks <file|url>  the issuer's public keys            (env ${ENV_NAMES.tokenJwks})
  --token-user-claim <c>   claim naming the user in identity tokens (default sub)
  --token-groups-claim <c> claim listing the groups in identity tokens
  --tls-cert <pem>         serve HTTPS with this certificate chain (env ${ENV_NAMES.tlsCert})
  --tls-key <pem>          and this private key                (env ${ENV_NAMES.tlsKey})
  --rate-limit <n>         requests per second per user or address (env ${ENV_NAMES.rateLimit})
  --rate-burst <n>         requests at once per caller         (default 2 × rate)
  --mirror-rate-limit <n>  requests per second per caller to mirrored repositories
  --mirror-rate-burst <n>  their burst                         (default 2 × rate)
  --allowed-hosts <list>   host names to answer (comma-separated; *.example.com for subdomains) besides
                           loopback names and IP literals; on a loopback address only those are answered, against
                           DNS rebinding (env ${ENV_NAMES.allowedHosts})
  --trusted-proxies <list> reverse proxies (addresses, CIDR ranges; comma-separated) whose X-Forwarded-For
                           names the client for rate limits and logs (env ${ENV_NAMES.trustedProxies})

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
  --max-upload-sessions-per-user <n>  open upload sessions per authenticated user (429)
                           (default 256, env ${ENV_NAMES.maxUploadSessionsPerUser})
  --cache-high-watermark <f>  eviction starts above this fraction of --cache-max (default 0.95, env ${ENV_NAMES.cacheHighWatermark})
  --cache-low-watermark <f>   ...and stops below this fraction (default 0.8, env ${ENV_NAMES.cacheLowWatermark})

Lifecycle (config file; see README "Lifecycle"): retention, retentionSchedule, quotas, warm, warmPlatforms,
  warmSchedule, warmConcurrency.

Blob storage (the index and upload ledger stay in --data unless --index; the mirror spool always does):
  --blobs <s3://bucket/prefix>  keep blobs in S3 or an S3-compatible store  (env ${ENV_NAMES.blobs})
  --s3-endpoint <url>      e.g. http://127.0.0.1:8333 (default AWS; env ${ENV_NAMES.s3Endpoint}, AWS_ENDPOINT_URL, S3_ENDPOINT)
  --s3-region <name>       (default us-east-1; env ${ENV_NAMES.s3Region}, AWS_REGION, S3_REGION)
  --s3-part-size <size>    multipart part size, at least 5MiB (default 8MiB, env ${ENV_NAMES.s3PartSize})
  --s3-redirect            answer blob GETs with a 307 to a presigned S3 URL  (env ${ENV_NAMES.s3Redirect})
                           Credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or S3_*), or the config keys
                           s3AccessKeyId/s3SecretAccessKey; AWS_SESSION_TOKEN when set.

Metadata (default: LMDB index, SQLite upload ledger and in-process locks under --data):
  --index <postgres://user[:password]@host:port/db>  keep the index, upload ledger and locks in PostgreSQL,
                           shared by every node pointed at it; migrated at start-up  (env ${ENV_NAMES.index})
  --index-pool-size <n>    PostgreSQL connections per process (default 10, env ${ENV_NAMES.indexPoolSize})
  -h, --help               show this help

Precedence: flags > environment > config file > defaults.

SIGHUP re-reads the config file (flags and environment still win) and applies what can change live; a config
that does not validate is refused with an error line and the running one stays.
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
      workers: { type: 'string' },
      locks: { type: 'string' },
      config: { type: 'string' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      'no-delete': { type: 'boolean' },
      'read-only': { type: 'boolean' },
      'no-referrers': { type: 'boolean' },
      'max-manifest-size': { type: 'string' },
      'no-ui': { type: 'boolean' },
      'no-sync': { type: 'boolean' },
      'access-log': { type: 'boolean' },
      'metrics-addr': { type: 'string' },
      'no-metrics': { type: 'boolean' },
      'watch-config': { type: 'boolean' },
      mirror: { type: 'string', multiple: true },
      'mirror-default': { type: 'string' },
      'mirror-freshness': { type: 'string' },
      'mirror-stale-while-revalidate': { type: 'string' },
      'mirror-stale-if-error': { type: 'string' },
      'cache-max': { type: 'string' },
      // --- access control ---
      auth: { type: 'string' },
      htpasswd: { type: 'string' },
      access: { type: 'string' },
      'token-key': { type: 'string' },
      'token-service': { type: 'string' },
      'token-realm': { type: 'string' },
      'token-ttl': { type: 'string' },
      'token-issuer': { type: 'string' },
      'token-jwks': { type: 'string' },
      'token-user-claim': { type: 'string' },
      'token-groups-claim': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'rate-limit': { type: 'string' },
      'rate-burst': { type: 'string' },
      'mirror-rate-limit': { type: 'string' },
      'mirror-rate-burst': { type: 'string' },
      'trusted-proxies': { type: 'string' },
      'allowed-hosts': { type: 'string' },
      // Limits
      'idle-timeout': { type: 'string' },
      'body-idle-timeout': { type: 'string' },
      'min-body-rate': { type: 'string' },
      'upload-idle-timeout': { type: 'string' },
      'max-upload-size': { type: 'string' },
      'max-upload-sessions': { type: 'string' },
      'max-upload-sessions-per-repository': { type: 'string' },
      'max-upload-sessions-per-user': { type: 'string' },
      'cache-high-watermark': { type: 'string' },
      'cache-low-watermark': { type: 'string' },
      // Blob storage
      blobs: { type: 'string' },
      's3-endpoint': { type: 'string' },
      's3-region': { type: 'string' },
      's3-part-size': { type: 'string' },
      's3-redirect': { type: 'boolean' },
      index: { type: 'string' },
      'index-pool-size': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const file = values.config ?? env.MARINA_CONFIG;
  const flags: Record<string, unknown> = {
    host: values.host,
    port: values.port,
    data: values.data,
    workers: values.workers,
    locks: values.locks,
    logLevel: values['log-level'],
    logFormat: values['log-format'],
    deleteEnabled: values['no-delete'] ? false : undefined,
    readOnly: values['read-only'] ? true : undefined,
    referrersEnabled: values['no-referrers'] ? false : undefined,
    maxManifestSize: values['max-manifest-size'],
    ui: values['no-ui'] ? false : undefined,
    sync: values['no-sync'] ? false : undefined,
    accessLog: values['access-log'] ? true : undefined,
    metricsAddr: values['metrics-addr'],
    metrics: values['no-metrics'] ? false : undefined,
    watchConfig: values['watch-config'] ? true : undefined,
    mirrors: values.mirror?.map(parseMirrorSpec),
    mirrorDefault: values['mirror-default'],
    mirrorFreshness: values['mirror-freshness'],
    mirrorStaleWhileRevalidate: values['mirror-stale-while-revalidate'],
    mirrorStaleIfError: values['mirror-stale-if-error'],
    cacheMax: values['cache-max'],
    // --- access control ---
    auth: values.auth,
    htpasswd: values.htpasswd,
    access: values.access,
    tokenKey: values['token-key'],
    tokenService: values['token-service'],
    tokenRealm: values['token-realm'],
    tokenTtl: values['token-ttl'],
    tokenIssuer: values['token-issuer'],
    tokenJwks: values['token-jwks'],
    tokenUserClaim: values['token-user-claim'],
    tokenGroupsClaim: values['token-groups-claim'],
    tlsCert: values['tls-cert'],
    tlsKey: values['tls-key'],
    rateLimit: values['rate-limit'],
    rateBurst: values['rate-burst'],
    mirrorRateLimit: values['mirror-rate-limit'],
    mirrorRateBurst: values['mirror-rate-burst'],
    trustedProxies: values['trusted-proxies']?.split(',').map((v) => v.trim()).filter(Boolean),
    allowedHosts: values['allowed-hosts']?.split(',').map((v) => v.trim()).filter(Boolean),
    // Limits
    idleTimeout: values['idle-timeout'],
    bodyIdleTimeout: values['body-idle-timeout'],
    minBodyRate: values['min-body-rate'],
    uploadIdleTimeout: values['upload-idle-timeout'],
    maxUploadSize: values['max-upload-size'],
    maxUploadSessions: values['max-upload-sessions'],
    maxUploadSessionsPerRepository: values['max-upload-sessions-per-repository'],
    maxUploadSessionsPerUser: values['max-upload-sessions-per-user'],
    cacheHighWatermark: values['cache-high-watermark'],
    cacheLowWatermark: values['cache-low-watermark'],
    // Blob storage
    blobs: values.blobs,
    s3Endpoint: values['s3-endpoint'],
    s3Region: values['s3-region'],
    s3PartSize: values['s3-part-size'],
    s3Redirect: values['s3-redirect'] ? true : undefined,
    index: values.index,
    indexPoolSize: values['index-pool-size'],
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
  const auth = new LiveAuth(await serverAuth(config, data, logger));
  if (Boolean(config.tlsCert) !== Boolean(config.tlsKey)) throw new Error('--tls-cert and --tls-key go together');
  // --- workers ---
  const workers = workerCount(config.workers);
  const worker = workerIndex();
  if (workers > 1 && config.index) throw new Error('--workers above 1 is not supported with --index yet: run one marina serve per port behind a balancer');
  // Other processes write this data directory too: our workers, or independent nodes (`--locks host`).
  const shared = workers > 1 || config.locks === 'host';
  const storage = await openStorage(config, { shared });
  const ops = createOps(config, logger, storage);
  const registry = createRegistry({
    storage,
    observer: ops.observer,
    events: ops.notifier.events,
    deleteEnabled: config.deleteEnabled,
    readOnly: config.readOnly,
    referrersEnabled: config.referrersEnabled,
    maxManifestSize: config.maxManifestSize,
    mirror: withSharedMirrorLedger(mirrorOptions(config, process.env), storage),
    authorize: auth.authorize,
    logger,
    // Limits
    bodyIdleTimeoutMs: config.bodyIdleTimeout * 1000,
    minBodyRate: config.minBodyRate,
    // Every body here comes from Bun.serve's sockets: its chunks are the registry's to free once written.
    releaseBodyChunks: true,
    uploadIdleTimeoutMs: config.uploadIdleTimeout * 1000,
    maxUploadSize: config.maxUploadSize,
    maxUploadSessions: config.maxUploadSessions,
    maxUploadSessionsPerRepository: config.maxUploadSessionsPerRepository,
    maxUploadSessionsPerUser: config.maxUploadSessionsPerUser,
    ...lifecycleOptions(config),
  });
  // Start-up recovery takes every unclaimed partial file: only the primary runs it, before any worker exists.
  // Other nodes' uploads may be in flight with a shared index (`--index`) or a shared directory (`--locks host`):
  // no start-up sweep then (the idle-upload purge takes abandoned ones).
  const recovered = worker === 0 && !config.index && config.locks !== 'host' ? await recoverUploads(registry.storage) : { partialFiles: 0, staleSessions: 0 };
  if (recovered.partialFiles || recovered.staleSessions) logger.info('removed partial uploads left by an earlier run', { ...recovered });
  ops.attach(registry);
  const reloader = new ConfigReloader(config, () => serveConfig(argv, process.env) as ServeConfig, logger);
  registerLiveSettings(reloader, registry, ops, logger, process.env);
  auth.register(reloader, data, logger);
  let pool: WorkerPool | undefined;
  const onHup = () => {
    pool?.signal('SIGHUP');
    void reloader.reload('SIGHUP');
  };
  process.on('SIGHUP', onHup);
  const configFile = parseArgs({ args: argv, strict: false, options: { config: { type: 'string' } } }).values.config ?? process.env.MARINA_CONFIG;
  if (config.watchConfig && typeof configFile === 'string') reloader.watch(configFile);
  // --- lifecycle schedules ---
  const schedules: Schedule[] = [];
  const retentionEvery = scheduleMs(config.retentionSchedule);
  // Schedules run in the primary only: one retention pass and one warm-up per interval, not one per worker.
  if (worker === 0 && retentionEvery !== undefined && config.retention?.length) schedules.push(scheduleRetention(registry, retentionEvery, logger));
  if (worker === 0 && config.warm?.length && config.warmSchedule !== 'off') {
    schedules.push(scheduleWarm(registry, config.warm, { intervalMs: scheduleMs(config.warmSchedule), platforms: config.warmPlatforms, concurrency: config.warmConcurrency }, logger));
  }
  const warm = warmEndpoint({ fetch: (r) => registry.fetch(r), authorize: auth.authorize, platforms: config.warmPlatforms, concurrency: config.warmConcurrency, logger });
  // --- end lifecycle schedules ---
  // Loaded on first use, not at start: Elysia answers only paths no handler below claims, and the web page only
  // its own (each took tens of milliseconds of a cold start to load).
  let app: { fetch(request: Request): Response | Promise<Response> } | undefined;
  const elysia = () => (app ??= new (require('elysia') as typeof import('elysia')).Elysia().use(registry.plugin));
  const metricsHere = !config.metricsAddr;
  // With access control on, /metrics on the registry's address asks the same question as /v2/_catalog (a
  // registry-wide read); health stays open for probes, and a metricsAddr listener is for internal networks.
  const metricsGuard = auth.protects && auth.authorize ? catalogGuard(auth.authorize) : undefined;
  let ui: import('../ui/routes.ts').WebUi | undefined;
  const webUi = () => (ui ??= (require('../ui/routes.ts') as typeof import('../ui/routes.ts')).createWebUi({ registry, authorize: auth.authorize, cacheMaxBytes: config.cacheMax, realm: config.tokenService, logger }));
  const proxies = config.trustedProxies?.length ? new TrustedProxies(config.trustedProxies) : undefined;
  const checkHost = hostGuard({ onLoopback: isLoopback(config.host), allowed: config.allowedHosts });
  const handler = (request: Request, server: Bun.Server<undefined>): Response | Promise<Response> => {
    const misdirected = checkHost?.(request);
    if (misdirected) return misdirected;
    // Only auth (logs, rate limits) and request logs read the address; asking Bun for it was a tenth of an open
    // manifest GET.
    if (auth.authorize || auth.tokenEndpoint || ops.settings.accessLog || logger.enabled('debug')) {
      const peer = server.requestIP(request)?.address;
      rememberClientAddress(request, proxies ? proxies.clientOf(peer, request.headers.get('x-forwarded-for')) : peer);
    }
    // Registry paths first, with no other path tests: none of the endpoints below lives under /v2.
    if (isV2Path(request.url) && !isUploadRequest(request.method, request.url)) return registry.fetch(request);
    const operations = ops.route(request, metricsHere, metricsGuard);
    if (operations) return operations;
    if (auth.tokenEndpoint && isTokenPath(request.url)) return auth.tokenEndpoint(request);
    if (isPath(request.url, WARM_PATH)) return warm(request);
    if (config.ui && isUiPath(splitUrl(request.url).pathname)) return webUi().fetch(request);
    // The registry's own paths skip Elysia's router (the plugin would route them to the same handler).
    const handle = (r: Request) => (isRegistryPath(r.url) ? registry.fetch(r) : elysia().fetch(r));
    // Limits: upload steps run without Bun's idle timer (it would cut slow-but-steady bodies and long commits);
    // their bodies have Marina's own idle deadline. Bun keeps the per-request value for the rest of the
    // connection, so it is put back before the response goes out: the next request head is bounded again.
    if (!isUploadRequest(request.method, request.url)) return handle(request);
    server.timeout(request, 0);
    return Promise.resolve(handle(request)).finally(() => restoreTimeout(server, request, config.idleTimeout));
  };
  // Other processes write the same index: each request reads from the newest commit (see LmdbIndex.refresh).
  const sharedIndex = shared && registry.storage.index instanceof LmdbIndex ? registry.storage.index : undefined;
  const server = Bun.serve({
    hostname: config.host,
    port: config.port,
    tls: config.tlsCert ? { cert: Bun.file(config.tlsCert), key: Bun.file(config.tlsKey!) } : undefined,
    fetch: workers > 1 ? (request, server) => {
      sharedIndex?.refresh();
      return markWorker(handler(request, server), worker);
    } : sharedIndex ? (request, server) => {
      sharedIndex.refresh();
      return handler(request, server);
    } : handler,
    // Upload sizes are capped by Marina (maxUploadSize, streamed to disk); Bun's 128 MiB default would cut pushes.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    // Closes connections that send and receive nothing: idle keep-alives, unfinished heads of a keep-alive's next
    // request, stalled downloads. Bun bounds the head of a connection's first request itself (about 10 s).
    idleTimeout: config.idleTimeout,
    // Workers share the port; the kernel spreads connections over them.
    reusePort: workers > 1,
    error(error) {
      logger.error('unhandled server error', { error });
      return new Response(null, { status: 500 });
    },
  });
  ops.notifier.source.addr = `${server.hostname}:${server.port}`;
  const mode = [config.readOnly ? 'read-only registry' : 'registry', ...config.mirrors.map((m) => `mirror ${m.name}=${withoutCredentials(m.url)}`)].join(', ');
  const scheme = config.tlsCert ? 'https' : 'http';
  if (worker > 0) logger.info('worker ready', { worker, pid: process.pid, address: `${server.hostname}:${server.port}` });
  else logger.info(`marina ${VERSION} listening on ${scheme}://${formatHost(server.hostname ?? config.host)}:${server.port}`, {
    ...(workers > 1 ? { workers } : {}),
    ...(config.locks === 'host' ? { locks: 'host' } : {}),
    address: `${server.hostname}:${server.port}`,
    data,
    mode,
    auth: auth.summary,
    deletes: config.deleteEnabled,
    referrers: config.referrersEnabled,
    ui: config.ui ? '/ui/' : 'off',
    blobs: config.blobs ?? path.join(data, 'blobs'),
    index: config.index ? redactedUrl(config.index) : path.join(data, 'index'),
  });
  // After the startup line: tools (and tests) read the registry's address from the first "listening on" line.
  const metricsServer = config.metricsAddr && worker === 0 ? listenMetrics(config.metricsAddr, ops, logger) : undefined;

  // The primary starts the other workers once it listens: recovery is done and the port (even --port 0) is known.
  if (worker === 0 && workers > 1) pool = startWorkers(workers, argv, server.port ?? config.port, logger);
  if (!auth.protects && worker === 0 && !isLoopback(config.host)) {
    logger.warn('listening on a non-loopback address without authentication: anyone who can reach it may push, delete and list; set --htpasswd (and --access) or bind to 127.0.0.1', { host: config.host });
  }

  await new Promise<void>((resolve) => {
    const stop = async (signal: string) => {
      logger.info('shutting down: finishing in-flight requests', { signal });
      clearInterval(orphanCheck);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      process.off('SIGHUP', onHup);
      reloader.close();
      ops.health.stopping = true;
      await Promise.all([server.stop(false), pool?.stop()]);
      await metricsServer?.stop(true);
      await ops.notifier.close();
      await ui?.close();
      await Promise.all(schedules.map((s) => s.stop()));
      const stats = await registry.mirror?.stats();
      await registry.close();
      logger.info('stopped', stats ? { mirror: stats } : undefined);
      resolve();
    };
    const onTerm = () => void stop('SIGTERM');
    // A terminal's Ctrl-C reaches the whole process group: a worker leaves it to the primary, which stops them all.
    const onInt = () => void (worker === 0 && stop('SIGINT'));
    // A worker whose primary is gone (killed with SIGKILL) stops instead of serving on unsupervised.
    const parent = process.ppid;
    const orphanCheck = setInterval(() => {
      if (worker > 0 && process.ppid !== parent) void stop('primary gone');
    }, 1000);
    orphanCheck.unref();
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
}

/** Names the worker that answered (`X-Marina-Worker`), so operators and tests can see the spread. */
function markWorker(response: Response | Promise<Response>, worker: number): Response | Promise<Response> {
  const mark = (r: Response) => {
    try {
      r.headers.set('X-Marina-Worker', String(worker));
    } catch {
      // Immutable headers (a passed-through response): leave them.
    }
    return r;
  };
  return response instanceof Response ? mark(response) : response.then(mark);
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
