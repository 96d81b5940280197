/**
 * Where the S3 blob store's settings come from: an `s3://bucket/prefix` location, explicit settings (config file,
 * MARINA_* variables, flags), then the standard AWS_* and Bun's S3_* environment variables.
 */
import type { S3BlobStoreOptions } from './s3-blob-store.ts';

/** Explicit settings; each one left out is looked up in the environment. */
export interface S3Settings {
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  virtualHostedStyle?: boolean;
  partSize?: number;
  redirect?: boolean;
  redirectExpiresIn?: number;
}

/** S3 bucket naming rules (3–63 characters of lower-case letters, digits, dots and hyphens). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Splits `s3://bucket/prefix` (the prefix may be empty or have several segments). */
export function parseBlobsLocation(location: string): { bucket: string; prefix: string } {
  if (location.length > 1024 || !location.startsWith('s3://')) {
    throw new Error(`blobs location "${location.slice(0, 80)}" must be s3://bucket[/prefix]`);
  }
  const rest = location.slice(5);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  if (!BUCKET.test(bucket)) throw new Error(`blobs location: "${bucket}" is not a valid S3 bucket name`);
  if (prefix.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw new Error('blobs location: the prefix may not contain "." or ".." segments');
  }
  return { bucket, prefix };
}

/** The store options for a location, explicit settings first, then the environment. Throws when credentials are missing. */
export function s3BlobStoreOptions(location: string, settings: S3Settings, env: Record<string, string | undefined>): S3BlobStoreOptions {
  const { bucket, prefix } = parseBlobsLocation(location);
  const pick = (...names: string[]) => names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  const accessKeyId = settings.accessKeyId ?? pick('AWS_ACCESS_KEY_ID', 'S3_ACCESS_KEY_ID');
  const secretAccessKey = settings.secretAccessKey ?? pick('AWS_SECRET_ACCESS_KEY', 'S3_SECRET_ACCESS_KEY');
  if (!accessKeyId || !secretAccessKey) {
    throw new Error('S3 blobs need credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or s3AccessKeyId/s3SecretAccessKey in the config file)');
  }
  return {
    bucket,
    prefix,
    endpoint: settings.endpoint ?? pick('AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'S3_ENDPOINT'),
    region: settings.region ?? pick('AWS_REGION', 'AWS_DEFAULT_REGION', 'S3_REGION') ?? 'us-east-1',
    accessKeyId,
    secretAccessKey,
    sessionToken: settings.sessionToken ?? pick('AWS_SESSION_TOKEN', 'S3_SESSION_TOKEN'),
    virtualHostedStyle: settings.virtualHostedStyle,
    partSize: settings.partSize,
    redirect: settings.redirect,
    redirectExpiresIn: settings.redirectExpiresIn,
  };
}
