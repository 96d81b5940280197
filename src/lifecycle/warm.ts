/**
 * Cache warm-up: pulls images through a registry's public HTTP face (GETs of manifests and blobs, as any client
 * would), so a pull-through mirror fills its cache ahead of use whatever its internals are. Blobs are HEAD-ed
 * first: `Cache-Status: marina; hit` (RFC 9211) means already cached, and the GET is skipped; without that header
 * every blob is fetched. A re-run skips what an interrupted one cached, so a warm-up resumes after a restart.
 */
import { digestOf, tryParseDigest } from '../oci/digest.ts';
import { INDEX_TYPES } from '../oci/media-types.ts';
import { formatImageRef, parseImageRef } from '../layout/image-ref.ts';

/** `Request → Response`: `registry.fetch` in-process, or `fetch` against a server. */
export type FetchLike = (request: Request) => Promise<Response>;

/** Options of {@link warmImages}. */
export interface WarmOptions {
  /** Where requests go, e.g. `http://marina.internal:5000` (the host part only matters for a remote fetch). @default http://marina.local */
  baseUrl?: string;
  /** Platforms to take from an index (`os/arch` or `os/arch/variant`); all when empty. @default all */
  platforms?: string[];
  /** Blobs fetched at once. @default 4 */
  concurrency?: number;
  /** Headers sent with every request (Authorization, for a protected registry). */
  headers?: Record<string, string>;
  /** Longest a single manifest or blob may take. @default 10 min */
  requestTimeoutMs?: number;
  /** Hears one line per manifest and per blob. */
  onProgress?(message: string): void;
}

/** What a warm-up did. */
export interface WarmReport {
  images: number;
  manifests: number;
  /** Blobs fetched into the cache by this run, and their bytes. */
  fetchedBlobs: number;
  fetchedBytes: number;
  /** Blobs that were already cached, and their bytes. */
  cachedBlobs: number;
  cachedBytes: number;
  /** Index entries left out by the platform filter. */
  skippedPlatforms: number;
  /** Images or blobs that failed, with why. */
  failures: string[];
  seconds: number;
}

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_IMAGES = 1000;

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  urls?: string[];
  platform?: { os?: string; architecture?: string; variant?: string };
}

/** Warms the cache with `refs` (`repo:tag` or `repo@digest`, mirrored repositories as clients name them). */
export async function warmImages(fetch: FetchLike, refs: string[], options: WarmOptions = {}): Promise<WarmReport> {
  const started = performance.now();
  if (refs.length > MAX_IMAGES) throw new Error(`at most ${MAX_IMAGES} images per warm-up`);
  const base = (options.baseUrl ?? 'http://marina.local').replace(/\/+$/, '');
  const timeoutMs = options.requestTimeoutMs ?? 10 * 60 * 1000;
  const progress = options.onProgress ?? (() => {});
  const wanted = new Set(options.platforms ?? []);
  const report: WarmReport = { images: 0, manifests: 0, fetchedBlobs: 0, fetchedBytes: 0, cachedBlobs: 0, cachedBytes: 0, skippedPlatforms: 0, failures: [], seconds: 0 };
  const blobs = new Map<string, { repository: string; size: number }>();

  const send = (method: string, path: string, accept?: string) =>
    withDeadline(fetch(new Request(`${base}${path}`, { method, headers: { ...options.headers, ...(accept ? { Accept: accept } : {}) } })), timeoutMs, `${method} ${path}`);

  const manifest = async (repository: string, reference: string, depth: number): Promise<void> => {
    const res = await send('GET', `/v2/${repository}/manifests/${reference}`, ACCEPT);
    if (res.status !== 200) throw new Error(`manifest ${repository}:${reference}: HTTP ${res.status} ${await errorText(res)}`);
    const body = await readCapped(res, MAX_MANIFEST_BYTES);
    const expected = tryParseDigest(reference);
    if (expected && digestOf(body) !== expected) throw new Error(`manifest ${repository}@${reference} does not match its digest`);
    report.manifests++;
    const json = JSON.parse(new TextDecoder().decode(body)) as { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    const mediaType = res.headers.get('content-type') ?? json.mediaType ?? '';
    if (INDEX_TYPES.has(mediaType) || json.manifests) {
      if (depth > 0) throw new Error(`index ${repository}@${reference} nests another index`);
      for (const child of json.manifests ?? []) {
        const p = child.platform;
        const platform = p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : '';
        const generic = p ? `${p.os}/${p.architecture}` : '';
        if (wanted.size && !wanted.has(platform) && !wanted.has(generic)) {
          report.skippedPlatforms++;
          continue;
        }
        progress(`${repository}: platform ${platform || 'unknown'} ${child.digest}`);
        await manifest(repository, child.digest, depth + 1);
      }
      return;
    }
    for (const d of [json.config, ...(json.layers ?? [])]) {
      if (!d || d.urls?.length || !tryParseDigest(d.digest)) continue;
      if (!blobs.has(d.digest)) blobs.set(d.digest, { repository, size: d.size });
    }
  };

  for (const text of refs) {
    const ref = parseImageRef(text);
    if (!ref) {
      report.failures.push(`${text}: not an image reference (repo:tag or repo@digest)`);
      continue;
    }
    try {
      await manifest(ref.repository, ref.digest ?? ref.tag, 0);
      report.images++;
      progress(`${formatImageRef(ref)}: manifests fetched`);
    } catch (error) {
      report.failures.push(`${text}: ${(error as Error).message}`);
    }
  }

  const queue = [...blobs.entries()];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [digest, { repository, size }] = next;
      try {
        const head = await send('HEAD', `/v2/${repository}/blobs/${digest}`);
        if (head.status === 200 && (head.headers.get('cache-status') ?? '').startsWith('marina; hit')) {
          report.cachedBlobs++;
          report.cachedBytes += size;
          progress(`cached  ${digest} (${size} bytes)`);
          continue;
        }
        const res = await send('GET', `/v2/${repository}/blobs/${digest}`);
        if (res.status !== 200 || !res.body) throw new Error(`HTTP ${res.status} ${await errorText(res)}`);
        const bytes = await drainVerified(res.body, digest, timeoutMs);
        report.fetchedBlobs++;
        report.fetchedBytes += bytes;
        progress(`fetched ${digest} (${bytes} bytes)`);
      } catch (error) {
        report.failures.push(`blob ${repository}@${digest}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, 64)) }, worker));
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/** Reads a body to its end, hashing it; the count of bytes, or an error when the digest differs. */
async function drainVerified(body: ReadableStream<Uint8Array>, digest: string, timeoutMs: number): Promise<number> {
  const hasher = new Bun.CryptoHasher(digest.slice(0, digest.indexOf(':')) as 'sha256');
  let bytes = 0;
  const read = (async () => {
    for await (const chunk of body) {
      hasher.update(chunk);
      bytes += chunk.byteLength;
    }
  })();
  await withDeadline(read, timeoutMs, `reading ${digest}`);
  if (`${digest.slice(0, digest.indexOf(':'))}:${hasher.digest('hex')}` !== digest) throw new Error('content does not match the digest');
  return bytes;
}

async function readCapped(res: Response, max: number): Promise<Uint8Array> {
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > max) throw new Error(`manifest of ${length} bytes is over ${max}`);
  const body = new Uint8Array(await res.arrayBuffer());
  if (body.byteLength > max) throw new Error(`manifest of ${body.byteLength} bytes is over ${max}`);
  return body;
}

async function errorText(res: Response): Promise<string> {
  const text = (await res.text().catch(() => '')).slice(0, 300);
  return text;
}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
