/**
 * AWS Signature Version 4 for the few S3 calls Bun.S3Client does not expose (multipart uploads, server-side copies).
 * Header-based signing only; written from the AWS SigV4 specification.
 */
import { createHash, createHmac } from 'node:crypto';

/** Credentials and scope of a signer. */
export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
}

/** SHA-256 of an empty payload (GET, DELETE, and POSTs without a body). */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Hex SHA-256 of a payload, for `x-amz-content-sha256` (lets S3 check the bytes it received). */
export function payloadHash(body: Uint8Array | string): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * Returns the headers to send with a request: the given ones plus `host`, `x-amz-date`, `x-amz-content-sha256`,
 * the session token when there is one, and `authorization`.
 */
export function signRequest(
  credentials: SigV4Credentials,
  method: string,
  url: URL,
  headers: Record<string, string>,
  contentSha256: string,
  now = new Date(),
): Record<string, string> {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const all: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) all[k.toLowerCase()] = v.trim().replace(/\s+/g, ' ');
  all.host = url.host;
  all['x-amz-date'] = amzDate;
  all['x-amz-content-sha256'] = contentSha256;
  if (credentials.sessionToken) all['x-amz-security-token'] = credentials.sessionToken;
  const names = Object.keys(all).sort();
  const signedHeaders = names.join(';');
  const canonical = [
    method,
    canonicalPath(url.pathname),
    canonicalQuery(url.searchParams),
    names.map((n) => `${n}:${all[n]}\n`).join(''),
    signedHeaders,
    contentSha256,
  ].join('\n');
  const scope = `${day}/${credentials.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  let key: Buffer = hmac(`AWS4${credentials.secretAccessKey}`, day);
  for (const part of [credentials.region, 's3', 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  all.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return all;
}

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters, `/` kept when `slash`. */
export function uriEncode(text: string, slash = false): string {
  let out = '';
  for (const byte of new TextEncoder().encode(text)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (slash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** S3 signs the path as sent (each segment encoded once); decode first so an already-encoded URL is not doubled. */
function canonicalPath(pathname: string): string {
  return pathname.split('/').map((segment) => uriEncode(decodeURIComponent(segment))).join('/');
}

function canonicalQuery(params: URLSearchParams): string {
  return [...params]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}
