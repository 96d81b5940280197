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
  return out;
}

/** Merges layers (later wins), converts strings to the schema's types, and validates. */
export function resolveConfig(...layers: Record<string, unknown>[]): ServeConfig {
  const merged: Record<string, unknown> = { ...SERVE_DEFAULTS };
  for (const layer of layers) for (const [k, v] of Object.entries(layer)) if (v !== undefined) merged[k] = v;
  const converted = Value.Convert(ServeConfigSchema, merged);
  if (!Value.Check(ServeConfigSchema, converted)) {
    const problems = [...Value.Errors(ServeConfigSchema, converted)].map((e) => `${e.path.slice(1) || '(root)'}: ${e.message}`);
    throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return converted;
}
