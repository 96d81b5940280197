/**
 * Public keys of an external token issuer, from a JWKS file or URL. A URL is fetched with a deadline and a size
 * cap, kept for a while, and fetched again (rate-limited) when a token names a key it does not know.
 */
import * as fs from 'node:fs';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

/** Options of {@link jwksKeys}. */
export interface JwksOptions {
  /** Deadline of one fetch. @default 5000 ms */
  timeoutMs?: number;
  /** Largest JWKS document read. @default 256 KiB */
  maxBytes?: number;
  /** How long fetched keys are used before fetching again. @default 10 min */
  refreshMs?: number;
  /** Least time between two fetches (unknown `kid` storms). @default 30 s */
  minRefetchMs?: number;
}

/** A key resolver for `jwtVerify`, from a file path or an http(s) URL. */
export async function jwksKeys(source: string, options: JwksOptions = {}): Promise<JWTVerifyGetKey> {
  if (!/^https?:\/\//.test(source)) return createLocalJWKSet(checkJwks(JSON.parse(fs.readFileSync(source, 'utf8')), source));
  const refreshMs = options.refreshMs ?? 600_000;
  const minRefetchMs = options.minRefetchMs ?? 30_000;
  let keys = createLocalJWKSet(await fetchJwks(source, options));
  let fetchedAt = Date.now();
  let refreshing: Promise<void> | undefined;
  const refresh = () =>
    (refreshing ??= fetchJwks(source, options)
      .then((set) => {
        keys = createLocalJWKSet(set);
        fetchedAt = Date.now();
      })
      .finally(() => (refreshing = undefined)));
  return async (header, token) => {
    const age = Date.now() - fetchedAt;
    if (age > refreshMs) await refresh().catch(() => undefined); // keep the old keys if the issuer is down
    try {
      return await keys(header, token);
    } catch (error) {
      if (age < minRefetchMs) throw error;
      await refresh().catch(() => undefined);
      return keys(header, token);
    }
  };
}

/** Fetches a JWKS document: bounded in time and size, JSON, with a `keys` array. */
export async function fetchJwks(url: string, options: JwksOptions = {}): Promise<JSONWebKeySet> {
  const maxBytes = options.maxBytes ?? 256 * 1024;
  const response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 5000), redirect: 'error' });
  if (!response.ok) throw new Error(`JWKS ${url}: HTTP ${response.status}`);
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new Error(`JWKS ${url}: larger than ${maxBytes} bytes`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new Error(`JWKS ${url}: larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return checkJwks(JSON.parse(Buffer.concat(chunks).toString('utf8')), url);
}

function checkJwks(value: unknown, where: string): JSONWebKeySet {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as JSONWebKeySet).keys)) throw new Error(`${where}: not a JWKS (no "keys" array)`);
  return value as JSONWebKeySet;
}
