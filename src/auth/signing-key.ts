/**
 * The key Marina signs its tokens with: a PEM (PKCS#8) or JWK file given by the operator, or an ES256 key
 * generated into the data directory on first start (mode 0600) and reused afterwards.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, importPKCS8, type CryptoKey, type JWK } from 'jose';

/** A private key with what a verifier needs to know about it. */
export interface SigningKey {
  alg: 'ES256' | 'RS256';
  kid: string;
  privateKey: CryptoKey;
  /** The public half, with `kid`, `alg` and `use` set (for a JWKS). */
  publicJwk: JWK;
}

/** File name of the generated key inside the data directory. */
export const GENERATED_KEY_FILE = 'auth/token-signing-key.jwk';

/** Loads `file`, or the generated key under `dataDir` (creating it on first use). */
export async function loadSigningKey(options: { file?: string; dataDir?: string }): Promise<SigningKey> {
  if (options.file) return readKeyFile(options.file);
  if (!options.dataDir) return fromJwk(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey));
  const file = path.join(options.dataDir, GENERATED_KEY_FILE);
  if (fs.existsSync(file)) return readKeyFile(file);
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written to a private temporary file, then renamed: the key is never readable by others, even briefly.
  const temp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(temp, 'wx', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(jwk));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  return fromJwk(jwk);
}

async function readKeyFile(file: string): Promise<SigningKey> {
  const text = fs.readFileSync(file, 'utf8');
  if (text.trimStart().startsWith('{')) return fromJwk(JSON.parse(text) as JWK);
  // PEM: try EC first, then RSA.
  for (const alg of ['ES256', 'RS256'] as const) {
    try {
      const key = await importPKCS8(text, alg, { extractable: true });
      return fromJwk(await exportJWK(key));
    } catch {
      // try the next algorithm
    }
  }
  throw new Error(`${file}: not a PKCS#8 PEM or JWK private key for ES256 (P-256) or RS256`);
}

async function fromJwk(jwk: JWK): Promise<SigningKey> {
  const alg = jwk.kty === 'EC' && jwk.crv === 'P-256' ? 'ES256' : jwk.kty === 'RSA' ? 'RS256' : undefined;
  if (!alg || !jwk.d) throw new Error('the token signing key must be a P-256 (ES256) or RSA (RS256) private key');
  const privateKey = (await importJWK(jwk, alg)) as CryptoKey;
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  const kid = jwk.kid ?? (await calculateJwkThumbprint(pub));
  return { alg, kid, privateKey, publicJwk: { ...pub, kid, alg, use: 'sig' } };
}
