/**
 * In-process registries for the mirror tests: an upstream Marina and a mirror, each `createRegistry` behind
 * `Bun.serve` on 127.0.0.1 with a kernel-chosen port, on temporary data directories removed on close.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLogger } from '../../../src/logger.ts';
import type { MirrorOptions } from '../../../src/mirror/options.ts';
import type { RegistryOptions } from '../../../src/options.ts';
import { createRegistry, type Registry } from '../../../src/registry.ts';
import { SqliteMirrorLedger } from '../../../src/mirror/ledger.ts';
import { tempDir, testStorage } from '../../helpers/registry.ts';
import { deferStores, deferred, MIRROR_LEDGER_METHODS } from '../../support/deferred-stores.ts';
import { sha256 } from './images.ts';

/** A registry served over HTTP in this process. */
export interface Served {
  registry: Registry;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, as clients write it in references. */
  host: string;
  root: string;
  /** Requests the server received, in order. */
  seen: { method: string; path: string; query: string; status: number }[];
  /** fetch() against the server, path relative to its root. */
  fetch(pathname: string, init?: RequestInit): Promise<Response>;
  /** Stops the server and closes the registry; the data directory stays unless `removeData`. */
  close(options?: { removeData?: boolean }): Promise<void>;
}

/** Mirror options as a test writes them (spool and ledger default to the data directory). */
export type TestMirrorOptions = Omit<MirrorOptions, 'spoolDir' | 'ledgerFile'> & Partial<Pick<MirrorOptions, 'spoolDir' | 'ledgerFile'>>;

/** Serves a registry (a plain one, or a mirror when `options.mirror` is set) on a temporary data directory. */
export function serveRegistry(options: Omit<RegistryOptions, 'storage'> = {}, root = tempDir('marina-mirror-test-')): Served {
  const mirror = options.mirror && deferStores && !options.mirror.ledger
    ? { ...options.mirror, ledger: deferred(new SqliteMirrorLedger(options.mirror.ledgerFile ?? path.join(root, 'mirror.sqlite')), MIRROR_LEDGER_METHODS) }
    : options.mirror;
  const registry = createRegistry({ logger: createLogger('silent'), ...options, mirror, storage: testStorage(root) });
  const seen: Served['seen'] = [];
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const response = await registry.fetch(request);
      const url = new URL(request.url);
      seen.push({ method: request.method, path: url.pathname, query: url.search, status: response.status });
      return response;
    },
    idleTimeout: 0,
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
  });
  const url = `http://127.0.0.1:${server.port}`;
  let closed = false;
  return {
    registry,
    url,
    host: `127.0.0.1:${server.port}`,
    root,
    seen,
    fetch: (pathname, init) => fetch(`${url}${pathname}`, init),
    async close({ removeData = true } = {}) {
      if (closed) return;
      closed = true;
      await server.stop(true);
      await registry.close();
      if (removeData) fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Serves a mirror with the given upstreams. */
export function serveMirror(mirror: TestMirrorOptions, root?: string): Served {
  return serveRegistry({ mirror }, root);
}

/** Every manifest type, for Accept. */
export const ACCEPT_MANIFESTS = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** GETs a manifest with every type accepted. */
export function getManifest(served: Served, name: string, reference: string, query = ''): Promise<Response> {
  return served.fetch(`/v2/${name}/manifests/${reference}${query}`, { headers: { Accept: ACCEPT_MANIFESTS } });
}

/** The outcome of reading a body to its end: its digest and length, or the error that broke it. */
export interface BodyResult {
  status: number;
  headers: Headers;
  bytes: number;
  digest?: string;
  error?: string;
}

/** GETs a URL and hashes the body as it streams (never holding it whole). */
export async function hashGet(url: string, init?: RequestInit): Promise<BodyResult> {
  const res = await fetch(url, init);
  const hasher = new Bun.CryptoHasher('sha256');
  let bytes = 0;
  try {
    for await (const chunk of res.body ?? new ReadableStream<Uint8Array>()) {
      hasher.update(chunk);
      bytes += chunk.byteLength;
    }
  } catch (error) {
    return { status: res.status, headers: res.headers, bytes, error: String(error) };
  }
  return { status: res.status, headers: res.headers, bytes, digest: `sha256:${hasher.digest('hex')}` };
}

/** GETs a URL and compares the body with `expected` as it streams (exact, and far cheaper than hashing). */
export async function compareGet(url: string, expected: Uint8Array, init?: RequestInit): Promise<BodyResult & { equal: boolean }> {
  const res = await fetch(url, init);
  let bytes = 0;
  let equal = true;
  try {
    for await (const chunk of res.body ?? new ReadableStream<Uint8Array>()) {
      const want = expected.subarray(bytes, bytes + chunk.byteLength);
      if (equal && !Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).equals(want)) equal = false;
      bytes += chunk.byteLength;
    }
  } catch (error) {
    return { status: res.status, headers: res.headers, bytes, equal: false, error: String(error) };
  }
  return { status: res.status, headers: res.headers, bytes, equal: equal && bytes === expected.byteLength };
}

/** Files under `<root>/blobs` and their total size. */
export function storedBlobs(root: string): { digests: Set<string>; bytes: number } {
  const digests = new Set<string>();
  let bytes = 0;
  const base = path.join(root, 'blobs');
  if (!fs.existsSync(base)) return { digests, bytes };
  for (const alg of fs.readdirSync(base)) {
    for (const prefix of fs.readdirSync(path.join(base, alg))) {
      for (const hex of fs.readdirSync(path.join(base, alg, prefix))) {
        digests.add(`${alg}:${hex}`);
        bytes += fs.statSync(path.join(base, alg, prefix, hex)).size;
      }
    }
  }
  return { digests, bytes };
}

/** True when the blob file is in the store under `root`. */
export function hasBlobFile(root: string, digest: string): boolean {
  return storedBlobs(root).digests.has(digest);
}

/** Files left in the mirror's spool (the uploads directory). */
export function spoolFiles(root: string): string[] {
  const dir = path.join(root, 'uploads');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

export { sha256 };

/** Resolves once `check` is true (polled), or throws after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await Bun.sleep(10);
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`);
}

/** Runs `fn` and reports how long it took (wall clock, ms). */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}
