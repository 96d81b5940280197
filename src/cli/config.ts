/**
 * Server configuration: defaults, then a config file (JSON or TOML), then MARINA_* environment variables, then flags.
 * Validated with one TypeBox schema, so a typo fails at startup with the field's name.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import * as fs from 'node:fs';
import { DEFAULTS } from '../options.ts';

const ACTION = Type.Union([Type.Literal('push'), Type.Literal('pull'), Type.Literal('delete'), Type.Literal('fill')]);
const KIND = Type.Union([Type.Literal('manifest'), Type.Literal('blob'), Type.Literal('tag')]);

/** `notifications`: webhook endpoints (see src/ops/notifier.ts for each field's meaning and default). */
const NotificationsSchema = Type.Object(
  {
    endpoints: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
          url: Type.String({ pattern: '^https?://', maxLength: 2000 }),
          headers: Type.Optional(Type.Record(Type.String({ maxLength: 200 }), Type.String({ maxLength: 8000 }))),
          timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
          actions: Type.Optional(Type.Array(ACTION)),
          repositories: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { maxItems: 1000 })),
          kinds: Type.Optional(Type.Array(KIND)),
          queueSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
          maxBatch: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          backoffMs: Type.Optional(Type.Integer({ minimum: 1 })),
          maxBackoffMs: Type.Optional(Type.Integer({ minimum: 1 })),
          retryForSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        { additionalProperties: false },
      ),
      { maxItems: 100 },
    ),
  },
  { additionalProperties: false },
);
// --- lifecycle (src/cli/lifecycle-config.ts) ---
const DURATION = Type.String({ pattern: '^[0-9]{1,9}(?:ms|s|m|h|d|w)?$', description: 'a duration: 90s, 15m, 12h, 30d, 2w (bare numbers are seconds)' });
const SIZE = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ maxLength: 64, description: 'a size: 10GiB, 512MB, or bytes' })]);
const RetentionRuleSchema = Type.Object(
  {
    repositories: Type.String({ minLength: 1, maxLength: 512, description: 'repository glob; the first matching rule wins' }),
    keepNewest: Type.Optional(Type.Integer({ minimum: 0, description: 'keep the newest N tags' })),
    keepTags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { description: 'keep tags matching these globs' })),
    deleteTagsOlderThan: Type.Optional(DURATION),
    deleteUntaggedOlderThan: Type.Optional(DURATION),
  },
  { additionalProperties: false },
);
const QuotaSchema = Type.Object(
  { repositories: Type.String({ minLength: 1, maxLength: 512 }), maxSize: SIZE },
  { additionalProperties: false },
);
// --- end lifecycle ---

export const ServeConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'address to listen on' }),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    data: Type.String({ minLength: 1, description: 'data directory' }),
    workers: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 256 })], { description: 'processes serving the port and data directory; auto: one per core' }),
    logLevel: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error'), Type.Literal('silent')]),
    logFormat: Type.Union([Type.Literal('json'), Type.Literal('text')]),
    deleteEnabled: Type.Boolean(),
    readOnly: Type.Boolean(),
    referrersEnabled: Type.Boolean(),
    maxManifestSize: Type.Integer({ minimum: 1024 }),
    sync: Type.Boolean({ description: 'fsync blobs on commit' }),
    // --- operations (src/ops) ---
    accessLog: Type.Boolean({ description: 'one log line per request' }),
    metrics: Type.Boolean({ description: 'serve Prometheus metrics at /metrics' }),
    metricsAddr: Type.Optional(Type.String({ pattern: '^[^\\s]+:\\d{1,5}$', maxLength: 300, description: 'separate host:port for /metrics' })),
    storageCensusSeconds: Type.Integer({ minimum: 0, description: 'seconds between counts of stored content for the metrics' }),
    readyzUpstreams: Type.Boolean({ description: '/readyz also probes each mirror upstream' }),
    notifications: Type.Optional(NotificationsSchema),
    watchConfig: Type.Boolean({ description: 'reload when the config file changes (SIGHUP always reloads)' }),
    // --- end operations ---
    mirrors: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: '^[a-z0-9]+(?:[._-][a-z0-9]+)*$' }),
          url: Type.String({ pattern: '^https?://' }),
          fallbackUrls: Type.Optional(Type.Array(Type.String({ pattern: '^https?://' }), { description: 'URLs tried in order when the ones before are down' })),
          username: Type.Optional(Type.String()),
          password: Type.Optional(Type.String()),
          freshnessSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
          freshnessByRepository: Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 0 }))),
          overlay: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
      { description: 'upstream registries to mirror' },
    ),
    mirrorDefault: Type.Optional(Type.String({ description: 'upstream for plain names; default: the first mirror' })),
    mirrorFreshness: Type.Integer({ minimum: 0, description: 'seconds a mirrored tag is served before revalidation' }),
    mirrorStaleWhileRevalidate: Type.Integer({ minimum: 0, description: 'seconds past freshness a tag is answered at once while revalidated in the background' }),
    mirrorStaleIfError: Type.Optional(Type.Integer({ minimum: 0, description: 'seconds past freshness a cached tag may stand in for a failing upstream; default: no limit' })),
    cacheMax: Type.Optional(Type.Integer({ minimum: 1, description: 'mirror cache budget in bytes' })),
    // --- access control (src/cli/auth-config.ts) ---
    auth: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('basic'), Type.Literal('token')], { description: 'how clients authenticate' })),
    htpasswd: Type.Optional(Type.String({ minLength: 1, description: 'htpasswd file with bcrypt users' })),
    access: Type.Optional(Type.String({ minLength: 1, description: 'access rules file (.toml or .json)' })),
    tokenKey: Type.Optional(Type.String({ minLength: 1, description: 'token signing key (PKCS#8 PEM or JWK)' })),
    tokenService: Type.String({ minLength: 1, maxLength: 256, description: 'token service name and audience' }),
    tokenRealm: Type.Optional(Type.String({ pattern: '^https?://', description: 'token endpoint URL sent in challenges' })),
    tokenTtl: Type.Integer({ minimum: 10, maximum: 86_400, description: 'lifetime of issued tokens in seconds' }),
    tokenIssuer: Type.Optional(Type.String({ minLength: 1, description: 'iss of an external token issuer' })),
    tokenJwks: Type.Optional(Type.String({ minLength: 1, description: 'JWKS of the external issuer: file or URL' })),
    tokenUserClaim: Type.String({ minLength: 1, description: 'claim naming the user in identity tokens' }),
    tokenGroupsClaim: Type.Optional(Type.String({ minLength: 1, description: 'claim listing groups in identity tokens' })),
    tlsCert: Type.Optional(Type.String({ minLength: 1, description: 'TLS certificate chain (PEM)' })),
    tlsKey: Type.Optional(Type.String({ minLength: 1, description: 'TLS private key (PEM)' })),
    rateLimit: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'requests per second per caller' })),
    rateBurst: Type.Optional(Type.Integer({ minimum: 1, description: 'requests a caller may make at once' })),
    mirrorRateLimit: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'mirrored-repository requests per second per caller' })),
    mirrorRateBurst: Type.Optional(Type.Integer({ minimum: 1, description: 'mirrored-repository requests a caller may make at once' })),
    allowedHosts: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 256, description: 'host names to answer besides loopback names and IP literals (*.example.com for subdomains)' })),
    trustedProxies: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 256, description: 'reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For names the client' })),
    // --- end access control ---
    // Server limits (slow clients, upload sessions and sizes).
    // Bun's timer moves in 4 s steps; at 4 s or less it cuts transfers that are still moving (measured), and 0 would
    // let a keep-alive connection hold a half-sent request head forever.
    idleTimeout: Type.Integer({ minimum: 5, maximum: 255, description: 'seconds a connection may send and receive nothing' }),
    bodyIdleTimeout: Type.Integer({ minimum: 1, description: 'seconds an upload body may send nothing before it is cut' }),
    minBodyRate: Type.Integer({ minimum: 0, description: 'bytes per second an upload body must average over each bodyIdleTimeout window' }),
    uploadIdleTimeout: Type.Integer({ minimum: 1, description: 'seconds an untouched upload session lives before it is purged' }),
    maxUploadSize: Type.Integer({ minimum: 1, description: 'largest upload in bytes' }),
    maxUploadSessions: Type.Integer({ minimum: 1, description: 'open upload sessions in the whole registry' }),
    maxUploadSessionsPerRepository: Type.Integer({ minimum: 1, description: 'open upload sessions in one repository' }),
    cacheHighWatermark: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'eviction starts above this fraction of cacheMax' }),
    cacheLowWatermark: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'eviction (and cache prune) stops below this fraction of cacheMax' }),
    ui: Type.Boolean({ description: 'serve the web page at / and /ui/' }),
    // --- lifecycle ---
    retention: Type.Optional(Type.Array(RetentionRuleSchema, { description: 'retention rules (see README "Lifecycle")' })),
    retentionSchedule: Type.Optional(Type.Union([DURATION, Type.Literal('off')], { description: 'interval between retention runs inside serve' })),
    quotas: Type.Optional(Type.Array(QuotaSchema, { description: 'storage quotas per repository glob' })),
    warm: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { description: 'mirrored images to keep warm' })),
    warmPlatforms: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z0-9]+/[a-z0-9]+(?:/[a-z0-9.]+)?$' }), { description: 'platforms warmed from an index (default: all)' })),
    warmSchedule: Type.Optional(Type.Union([DURATION, Type.Literal('off')], { description: 'interval between warm-ups of the warm list inside serve' })),
    warmConcurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'blobs fetched at once during a warm-up' })),
    // --- end lifecycle ---
    // S3 blob storage (src/storage/s3-config.ts); credentials also from AWS_*/S3_* variables.
    blobs: Type.Optional(Type.String({ pattern: '^s3://', maxLength: 1024, description: 'where blobs live: s3://bucket/prefix (default: <data>/blobs)' })),
    s3Endpoint: Type.Optional(Type.String({ pattern: '^https?://', description: 'S3 endpoint URL (default: AWS for the region)' })),
    s3Region: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'S3 region' })),
    s3AccessKeyId: Type.Optional(Type.String({ minLength: 1, description: 'S3 access key id' })),
    s3SecretAccessKey: Type.Optional(Type.String({ minLength: 1, description: 'S3 secret access key' })),
    s3VirtualHostedStyle: Type.Optional(Type.Boolean({ description: 'bucket in the host name instead of the path' })),
    s3PartSize: Type.Optional(Type.Integer({ minimum: 5 * 1024 * 1024, maximum: 5 * 1024 * 1024 * 1024, description: 'multipart upload part size in bytes' })),
    s3Redirect: Type.Optional(Type.Boolean({ description: 'answer blob GETs with a 307 to a presigned S3 URL' })),
  },
  { additionalProperties: false },
);

/** The validated server configuration. */
export type ServeConfig = Static<typeof ServeConfigSchema>;

export const SERVE_DEFAULTS: ServeConfig = {
  host: '127.0.0.1',
  port: 5000,
  data: DEFAULTS.dataDir,
  workers: 1,
  logLevel: 'info',
  logFormat: 'text',
  deleteEnabled: DEFAULTS.deleteEnabled,
  readOnly: DEFAULTS.readOnly,
  referrersEnabled: DEFAULTS.referrersEnabled,
  maxManifestSize: DEFAULTS.maxManifestSize,
  sync: true,
  accessLog: false,
  metrics: true,
  storageCensusSeconds: 300,
  readyzUpstreams: false,
  watchConfig: false,
  mirrors: [],
  mirrorFreshness: 300,
  tokenService: 'marina',
  tokenTtl: 300,
  tokenUserClaim: 'sub',
  idleTimeout: 60,
  bodyIdleTimeout: DEFAULTS.bodyIdleTimeoutMs / 1000,
  minBodyRate: DEFAULTS.minBodyRate,
  uploadIdleTimeout: DEFAULTS.uploadIdleTimeoutMs / 1000,
  maxUploadSize: DEFAULTS.maxUploadSize,
  maxUploadSessions: DEFAULTS.maxUploadSessions,
  maxUploadSessionsPerRepository: DEFAULTS.maxUploadSessionsPerRepository,
  cacheHighWatermark: 0.95,
  cacheLowWatermark: 0.8,
  ui: true,
  mirrorStaleWhileRevalidate: 86_400,
};

/** Environment variable of each setting. */
export const ENV_NAMES: Record<keyof ServeConfig, string> = {
  host: 'MARINA_HOST',
  port: 'MARINA_PORT',
  data: 'MARINA_DATA',
  workers: 'MARINA_WORKERS',
  logLevel: 'MARINA_LOG_LEVEL',
  logFormat: 'MARINA_LOG_FORMAT',
  deleteEnabled: 'MARINA_DELETE',
  readOnly: 'MARINA_READ_ONLY',
  referrersEnabled: 'MARINA_REFERRERS',
  maxManifestSize: 'MARINA_MAX_MANIFEST_SIZE',
  sync: 'MARINA_SYNC',
  accessLog: 'MARINA_ACCESS_LOG',
  metrics: 'MARINA_METRICS',
  metricsAddr: 'MARINA_METRICS_ADDR',
  storageCensusSeconds: 'MARINA_STORAGE_CENSUS_SECONDS',
  readyzUpstreams: 'MARINA_READYZ_UPSTREAMS',
  notifications: 'MARINA_NOTIFICATIONS',
  watchConfig: 'MARINA_WATCH_CONFIG',
  mirrors: 'MARINA_MIRRORS',
  mirrorDefault: 'MARINA_MIRROR_DEFAULT',
  mirrorFreshness: 'MARINA_MIRROR_FRESHNESS',
  mirrorStaleWhileRevalidate: 'MARINA_MIRROR_STALE_WHILE_REVALIDATE',
  mirrorStaleIfError: 'MARINA_MIRROR_STALE_IF_ERROR',
  cacheMax: 'MARINA_CACHE_MAX',
  auth: 'MARINA_AUTH',
  htpasswd: 'MARINA_HTPASSWD',
  access: 'MARINA_ACCESS',
  tokenKey: 'MARINA_TOKEN_KEY',
  tokenService: 'MARINA_TOKEN_SERVICE',
  tokenRealm: 'MARINA_TOKEN_REALM',
  tokenTtl: 'MARINA_TOKEN_TTL',
  tokenIssuer: 'MARINA_TOKEN_ISSUER',
  tokenJwks: 'MARINA_TOKEN_JWKS',
  tokenUserClaim: 'MARINA_TOKEN_USER_CLAIM',
  tokenGroupsClaim: 'MARINA_TOKEN_GROUPS_CLAIM',
  tlsCert: 'MARINA_TLS_CERT',
  tlsKey: 'MARINA_TLS_KEY',
  rateLimit: 'MARINA_RATE_LIMIT',
  trustedProxies: 'MARINA_TRUSTED_PROXIES',
  allowedHosts: 'MARINA_ALLOWED_HOSTS',
  rateBurst: 'MARINA_RATE_BURST',
  mirrorRateLimit: 'MARINA_MIRROR_RATE_LIMIT',
  mirrorRateBurst: 'MARINA_MIRROR_RATE_BURST',
  idleTimeout: 'MARINA_IDLE_TIMEOUT',
  bodyIdleTimeout: 'MARINA_BODY_IDLE_TIMEOUT',
  minBodyRate: 'MARINA_MIN_BODY_RATE',
  uploadIdleTimeout: 'MARINA_UPLOAD_IDLE_TIMEOUT',
  maxUploadSize: 'MARINA_MAX_UPLOAD_SIZE',
  maxUploadSessions: 'MARINA_MAX_UPLOAD_SESSIONS',
  maxUploadSessionsPerRepository: 'MARINA_MAX_UPLOAD_SESSIONS_PER_REPOSITORY',
  cacheHighWatermark: 'MARINA_CACHE_HIGH_WATERMARK',
  cacheLowWatermark: 'MARINA_CACHE_LOW_WATERMARK',
  ui: 'MARINA_UI',
  retention: 'MARINA_RETENTION',
  retentionSchedule: 'MARINA_RETENTION_SCHEDULE',
  quotas: 'MARINA_QUOTAS',
  warm: 'MARINA_WARM',
  warmPlatforms: 'MARINA_WARM_PLATFORMS',
  warmSchedule: 'MARINA_WARM_SCHEDULE',
  warmConcurrency: 'MARINA_WARM_CONCURRENCY',
  blobs: 'MARINA_BLOBS',
  s3Endpoint: 'MARINA_S3_ENDPOINT',
  s3Region: 'MARINA_S3_REGION',
  s3AccessKeyId: 'MARINA_S3_ACCESS_KEY_ID',
  s3SecretAccessKey: 'MARINA_S3_SECRET_ACCESS_KEY',
  s3VirtualHostedStyle: 'MARINA_S3_VIRTUAL_HOSTED_STYLE',
  s3PartSize: 'MARINA_S3_PART_SIZE',
  s3Redirect: 'MARINA_S3_REDIRECT',
};

/** Reads a config file: `.toml` with Bun's TOML parser, anything else as JSON. */
export function readConfigFile(file: string): Record<string, unknown> {
  const text = fs.readFileSync(file, 'utf8');
  const parsed: unknown = file.endsWith('.toml') ? Bun.TOML.parse(text) : JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${file}: expected an object of settings`);
  return parsed as Record<string, unknown>;
}

/** Settings found in the environment, still as strings (converted by {@link resolveConfig}). */
export function readEnv(env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV_NAMES)) if (env[name] !== undefined && env[name] !== '') out[key] = env[name];
  if (typeof out.notifications === 'string') out.notifications = parseJsonSetting(ENV_NAMES.notifications, out.notifications);
  if (typeof out.mirrors === 'string') out.mirrors = out.mirrors.split(',').filter(Boolean).map(parseMirrorSpec);
  // Lifecycle lists: rules as JSON, image and platform lists comma-separated.
  for (const key of ['retention', 'quotas'] as const) if (typeof out[key] === 'string') out[key] = parseJsonSetting(ENV_NAMES[key], out[key]);
  for (const key of ['warm', 'warmPlatforms', 'trustedProxies', 'allowedHosts'] as const) if (typeof out[key] === 'string') out[key] = out[key].split(',').map((v) => v.trim()).filter(Boolean);
  return out;
}

/** A setting given as JSON in the environment (MARINA_NOTIFICATIONS, MARINA_RETENTION, MARINA_QUOTAS), capped at 1 MiB. */
function parseJsonSetting(name: string, text: string): unknown {
  if (text.length > 1 << 20) throw new Error(`invalid configuration:\n  ${name}: longer than 1 MiB`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`invalid configuration:\n  ${name}: expected JSON`);
  }
}

/** Reads durations such as `90s`, `15m`, `12h`, `30d`, `2w`, `500ms`; a bare number is seconds. */
export function parseDuration(value: string): number {
  const m = value.length <= 16 ? /^(\d{1,9})(ms|s|m|h|d|w)?$/.exec(value) : null;
  if (!m) throw new Error(`invalid duration "${value}" (use e.g. 90s, 15m, 12h, 30d, 2w)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[(m[2] ?? 's') as 'ms'];
  return Number(m[1]) * unit;
}

/** Reads `name=url` (the --mirror flag and MARINA_MIRRORS entries). */
export function parseMirrorSpec(spec: string): { name: string; url: string } {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`mirror "${spec}" must be written name=url, e.g. docker.io=https://registry-1.docker.io`);
  return { name: spec.slice(0, eq).trim(), url: spec.slice(eq + 1).trim() };
}

/** Reads sizes such as `50GiB`, `512MB`, `1048576`. */
export function parseSize(value: string): number {
  // The pattern's adjacent `\s*` runs are quadratic on long whitespace; no real size needs 64 characters.
  const m = value.length <= 64 ? /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$/i.exec(value) : null;
  if (!m) throw new Error(`invalid size "${value}" (use e.g. 50GiB, 512MB or a byte count)`);
  const power = ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
  const base = m[3] || !m[2] ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** power);
}

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, yes: true, no: false, on: true, off: false };

/** Merges layers (later wins), converts strings to the schema's types, and validates. */
export function resolveConfig(...layers: Record<string, unknown>[]): ServeConfig {
  const merged: Record<string, unknown> = { ...SERVE_DEFAULTS };
  for (const layer of layers) for (const [k, v] of Object.entries(layer)) if (v !== undefined) merged[k] = v;
  if (typeof merged.cacheMax === 'string') merged.cacheMax = parseSize(merged.cacheMax);
  if (typeof merged.maxUploadSize === 'string') merged.maxUploadSize = parseSize(merged.maxUploadSize);
  if (typeof merged.s3PartSize === 'string') merged.s3PartSize = parseSize(merged.s3PartSize);
  if (typeof merged.workers === 'string' && /^\d{1,3}$/.test(merged.workers)) merged.workers = Number(merged.workers);
  const problems: string[] = [];
  for (const [key, schema] of Object.entries(ServeConfigSchema.properties)) {
    const value = merged[key];
    if (typeof value !== 'string') continue;
    // Strings from flags and the environment: only plain decimal integers and true/false convert, so
    // "1e3" or "0x10" fail with the field's name instead of becoming some other port.
    if (schema.type === 'number') {
      if (/^\d{1,9}(?:\.\d{1,9})?$/.test(value)) merged[key] = Number(value);
      else problems.push(`${key}: expected a decimal number, got "${value}"`);
    } else if (schema.type === 'integer') {
      if (/^\d{1,15}$/.test(value)) merged[key] = Number(value);
      else problems.push(`${key}: expected a whole number, got "${value}"`);
    } else if (schema.type === 'boolean') {
      const word = value.toLowerCase();
      const flag = Object.hasOwn(BOOLEAN_WORDS, word) ? BOOLEAN_WORDS[word] : undefined;
      if (flag !== undefined) merged[key] = flag;
      else problems.push(`${key}: expected true or false, got "${value}"`);
    }
  }
  const named = new Set(problems.map((p) => p.slice(0, p.indexOf(':'))));
  for (const e of Value.Errors(ServeConfigSchema, merged)) {
    const key = e.path.slice(1) || '(root)';
    if (!named.has(key.split('/')[0]!)) problems.push(`${key}: ${e.message}`);
  }
  if (!problems.length && (merged.cacheLowWatermark as number) >= (merged.cacheHighWatermark as number)) {
    problems.push(`cacheLowWatermark (${merged.cacheLowWatermark}) must be below cacheHighWatermark (${merged.cacheHighWatermark})`);
  }
  if (problems.length) throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return merged as ServeConfig;
}
