/**
 * The bundled push client: a child process that pushes blobs (monolithic POST+PUT, or chunked POST+PATCH…+PUT)
 * or whole images (HEAD, POST, PUT per blob, then the manifest) from several concurrent clients, and prints a
 * {@link LoadResult} as JSON.
 *
 *   bun bench/load/push-load.ts '<PushLoad as JSON>'
 *
 * Clients start pushes until the window closes (or their count is reached); pushes in flight then finish, so a
 * result counts whole pushes only, and `seconds` runs to the last completion. The hard cap aborts everything.
 */
import { Content } from '../data/content.ts';
import { imageManifest, MEDIA, type Descriptor } from '../data/manifests.ts';
import { LatencyRecorder } from '../lib/stats.ts';
import { headerLines, openConnection, requestTarget, withHeaders, type BodySource, type Connection, type ResponseInfo, type Transport } from './http1.ts';
import type { LoadResult } from './types.ts';

/** A push load. */
export interface PushLoad {
  baseUrl: string;
  mode: 'monolithic' | 'chunked' | 'image';
  /** Repository (blob modes), or the prefix of one repository per client (image mode). */
  repo: string;
  clients: number;
  /** No push starts after this many seconds. */
  windowSec: number;
  /** Everything is aborted after this many seconds. */
  capSec: number;
  maxPerClient: number;
  /** Blob modes: client i pushes `new Content(seeds[i], size)`, whose digest is `digests[i]`. */
  blob?: { size: number; chunkSize: number; seeds: string[]; digests: string[] };
  /** Image mode: a config and `layers` layers per image, unique per run through `nonce`. */
  image?: { layers: number; layerSize: number; nonce: string };
  /** Extra request headers (credentials), each sent with every request. */
  headers?: Record<string, string>;
  /** HTTP implementation: raw sockets (default) or Bun's fetch (the cross-check). */
  transport?: Transport;
}

const OCTETS = 'Content-Type: application/octet-stream\r\n';

/** Runs the push load in this process. */
export async function runPushLoad(load: PushLoad): Promise<LoadResult> {
  const url = new URL(load.baseUrl);
  const extra = headerLines(load.headers);
  const connect = async () => withHeaders(await openConnection(url, load.transport), extra);
  const latencies = new LatencyRecorder();
  let requests = 0;
  let errors = 0;
  let bytes = 0;
  let firstError: string | undefined;
  let aborted = false;
  const conns = await Promise.all(Array.from({ length: load.clients }, connect));
  const t0 = performance.now();
  const windowEnd = t0 + load.windowSec * 1000;
  let last = t0;
  const cap = setTimeout(() => {
    aborted = true;
    for (const c of conns) c.close();
  }, load.capSec * 1000);

  const client = async (i: number) => {
    for (let k = 0; k < load.maxPerClient && performance.now() < windowEnd && !aborted; k++) {
      const t = performance.now();
      try {
        const conn = conns[i]!.isClosed ? (conns[i] = await connect()) : conns[i]!;
        const sent = load.mode === 'image' ? await pushImage(conn, load, i, k) : await pushBlob(conn, load, i);
        if (aborted) break;
        requests++;
        bytes += sent;
        last = performance.now();
        latencies.add(last - t);
      } catch (e) {
        if (aborted) break;
        errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
        conns[i]!.close();
      }
    }
  };
  await Promise.all(conns.map((_, i) => client(i)));
  clearTimeout(cap);
  for (const c of conns) c.close();
  if (aborted) firstError ??= `aborted at the ${load.capSec} s cap`;
  const result: LoadResult = { generator: load.transport === 'fetch' ? 'fetch-push' : 'bun-push', requests, errors: errors + (aborted ? 1 : 0), bytes, seconds: (last - t0) / 1000, ...latencies.summary() };
  if (firstError) result.firstError = firstError;
  return result;
}

/** One blob push; returns the bytes sent. */
async function pushBlob(conn: Connection, load: PushLoad, i: number): Promise<number> {
  const spec = load.blob!;
  const content = new Content(spec.seeds[i]!, spec.size);
  const digest = spec.digests[i]!;
  let location = await startUpload(conn, load.repo);
  if (load.mode === 'chunked') {
    for (let at = 0; at < spec.size; at += spec.chunkSize) {
      const n = Math.min(spec.chunkSize, spec.size - at);
      const range = `Content-Range: ${at}-${at + n - 1}\r\n`;
      const res = await conn.request('PATCH', location, OCTETS + range, slice(content, at, n));
      location = requestTarget(expect(res, 202, 'PATCH').headers.get('location') ?? location);
    }
    expect(await conn.request('PUT', withDigest(location, digest), ''), 201, 'PUT');
  } else {
    expect(await conn.request('PUT', withDigest(location, digest), OCTETS, slice(content, 0, spec.size)), 201, 'PUT');
  }
  return spec.size;
}

/** One image push as a client does it: per blob HEAD (absent), POST, PUT; then the manifest. */
async function pushImage(conn: Connection, load: PushLoad, i: number, k: number): Promise<number> {
  const spec = load.image!;
  const repo = `${load.repo}-${i}`;
  const seed = `${spec.nonce}/c${i}/k${k}`;
  const blobs: [Content, string][] = [[new Content(`${seed}/config`, 1024), MEDIA.config]];
  for (let l = 0; l < spec.layers; l++) blobs.push([new Content(`${seed}/l${l}`, spec.layerSize), MEDIA.layer]);
  const descriptors: Descriptor[] = [];
  let sent = 0;
  for (const [content, mediaType] of blobs) {
    const digest = content.digest();
    const head = await conn.request('HEAD', `/v2/${repo}/blobs/${digest}`, '');
    if (head.status !== 404) throw new Error(`HEAD of a new blob answered ${head.status}`);
    const location = await startUpload(conn, repo);
    expect(await conn.request('PUT', withDigest(location, digest), OCTETS, slice(content, 0, content.size)), 201, 'PUT');
    descriptors.push({ mediaType, digest, size: content.size });
    sent += content.size;
  }
  const [config, ...layers] = descriptors;
  const manifest = imageManifest(repo, config!, layers, { tags: [`k${k}`] });
  const body: BodySource = { length: manifest.bytes.length, fill: (out, offset) => (out.set(manifest.bytes.subarray(offset, offset + out.length)), out) };
  expect(await conn.request('PUT', `/v2/${repo}/manifests/k${k}`, `Content-Type: ${MEDIA.manifest}\r\n`, body), 201, 'manifest PUT');
  return sent + manifest.bytes.length;
}

async function startUpload(conn: Connection, repo: string): Promise<string> {
  const res = expect(await conn.request('POST', `/v2/${repo}/blobs/uploads/`, ''), 202, 'POST');
  const location = res.headers.get('location');
  if (!location) throw new Error('upload POST without Location');
  return requestTarget(location);
}

function slice(content: Content, start: number, length: number): BodySource {
  return { length, fill: (out, offset) => content.fill(out, start + offset) };
}

function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`;
}

function expect(res: ResponseInfo, status: number, what: string): ResponseInfo {
  if (res.status !== status) throw new Error(`${what} answered ${res.status}, expected ${status}`);
  return res;
}

if (import.meta.main) {
  const load = JSON.parse(process.argv[2] ?? '{}') as PushLoad;
  process.stdout.write(`${JSON.stringify(await runPushLoad(load))}\n`);
  process.exit(0);
}
