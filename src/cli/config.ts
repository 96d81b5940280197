/**
 * Server configuration: defaults, then a config file (JSON or TOML), then MARINA_* environment variables, then flags.
 * Validated with one TypeBox schema, so a typo fails at startup with the field's name.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import * as fs from 'node:fs';
import { DEFAULTS } from '../options.ts';

export const ServeConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'address to listen on' }),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    data: Type.String({ minLength: 1, description: 'data directory' }),
    logLevel: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error'), Type.Literal('silent')]),
    logFormat: Type.Union([Type.Literal('json'), Type.Literal('text')]),
    deleteEnabled: Type.Boolean(),
    readOnly: Type.Boolean(),
    referrersEnabled: Type.Boolean(),
    maxManifestSize: Type.Integer({ minimum: 1024 }),
    sync: Type.Boolean({ description: 'fsync blobs on commit' }),
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
  },
  { additionalProperties: false },
);

/** The validated server configuration. */
export type ServeConfig = Static<typeof ServeConfigSchema>;

export const SERVE_DEFAULTS: ServeConfig = {
  host: '127.0.0.1',
  port: 5000,
  data: DEFAULTS.dataDir,
  logLevel: 'info',
  logFormat: 'text',
  deleteEnabled: DEFAULTS.deleteEnabled,
  readOnly: DEFAULTS.readOnly,
  referrersEnabled: DEFAULTS.referrersEnabled,
  maxManifestSize: DEFAULTS.maxManifestSize,
  sync: true,
  mirrors: [],
  mirrorFreshness: 300,
  mirrorStaleWhileRevalidate: 86_400,
};

/** Environment variable of each setting. */
export const ENV_NAMES: Record<keyof ServeConfig, string> = {
  host: 'MARINA_HOST',
  port: 'MARINA_PORT',
  data: 'MARINA_DATA',
  logLevel: 'MARINA_LOG_LEVEL',
  logFormat: 'MARINA_LOG_FORMAT',
  deleteEnabled: 'MARINA_DELETE',
  readOnly: 'MARINA_READ_ONLY',
  referrersEnabled: 'MARINA_REFERRERS',
  maxManifestSize: 'MARINA_MAX_MANIFEST_SIZE',
  sync: 'MARINA_SYNC',
  mirrors: 'MARINA_MIRRORS',
  mirrorDefault: 'MARINA_MIRROR_DEFAULT',
  mirrorFreshness: 'MARINA_MIRROR_FRESHNESS',
  mirrorStaleWhileRevalidate: 'MARINA_MIRROR_STALE_WHILE_REVALIDATE',
  mirrorStaleIfError: 'MARINA_MIRROR_STALE_IF_ERROR',
  cacheMax: 'MARINA_CACHE_MAX',
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
  if (typeof out.mirrors === 'string') out.mirrors = out.mirrors.split(',').filter(Boolean).map(parseMirrorSpec);
  return out;
}

/** Reads `name=url` (the --mirror flag and MARINA_MIRRORS entries). */
export function parseMirrorSpec(spec: string): { name: string; url: string } {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`mirror "${spec}" must be written name=url, e.g. docker.io=https://registry-1.docker.io`);
  return { name: spec.slice(0, eq).trim(), url: spec.slice(eq + 1).trim() };
}

/** Reads sizes such as `50GiB`, `512MB`, `1048576`. */
export function parseSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$/i.exec(value);
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
  const problems: string[] = [];
  for (const [key, schema] of Object.entries(ServeConfigSchema.properties)) {
    const value = merged[key];
    if (typeof value !== 'string') continue;
    // Strings from flags and the environment: only plain decimal integers and true/false convert, so
    // "1e3" or "0x10" fail with the field's name instead of becoming some other port.
    if (schema.type === 'integer') {
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
  if (problems.length) throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return merged as ServeConfig;
}
