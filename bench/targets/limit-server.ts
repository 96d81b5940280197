/**
 * The ceiling: the least work a Bun registry server can do for the benchmarked requests, with no framework,
 * no validation and no metadata store. Run as its own process:
 *
 *   bun bench/targets/limit-server.ts --port <p> --dir <dir>
 *
 * - blob GET/HEAD: `Bun.file` (sendfile), Range through `.slice()`
 * - manifest GET/HEAD: bytes from an in-memory Map (loaded from `<dir>/manifests.json`)
 * - blob push: stream the body, hash it, write it, fsync, rename (monolithic POST, POST+PUT, PATCH chunks)
 * - manifest PUT: digest the bytes and keep them in the Map
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' }, dir: { type: 'string' } } });
const dir = values.dir ?? '.';
const blobsDir = path.join(dir, 'blobs');
const uploadsDir = path.join(dir, 'uploads');
fs.mkdirSync(blobsDir, { recursive: true });
fs.mkdirSync(uploadsDir, { recursive: true });

interface StoredManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}
interface Upload {
  fd: number;
  file: string;
  size: number;
  hasher: Bun.CryptoHasher;
}

const manifests = new Map<string, StoredManifest>();
const uploads = new Map<string, Upload>();
loadManifests(path.join(dir, 'manifests.json'));

Bun.serve({
  hostname: '127.0.0.1',
  port: Number(values.port ?? 0),
  maxRequestBodySize: Number.MAX_SAFE_INTEGER,
  idleTimeout: 0,
  fetch: handle,
});

async function handle(req: Request): Promise<Response> {
  const url = req.url;
  const slash = url.indexOf('/', url.indexOf('//') + 2);
  const q = url.indexOf('?', slash);
  const pathname = q < 0 ? url.slice(slash) : url.slice(slash, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  if (pathname === '/v2/' || pathname === '/v2') return Response.json({});

  let at = pathname.indexOf('/blobs/uploads');
  if (at > 0) {
    const repo = pathname.slice(4, at);
    const id = pathname.slice(at + '/blobs/uploads/'.length);
    if (req.method === 'POST') return startUpload(req, repo, query.get('digest'));
    const upload = uploads.get(id);
    if (!upload) return new Response(null, { status: 404 });
    await append(upload, req.body);
    if (req.method === 'PATCH') return sessionResponse(repo, id, upload);
    if (req.method === 'PUT') return finish(repo, id, upload, query.get('digest') ?? '');
    return new Response(null, { status: 405 });
  }
  at = pathname.lastIndexOf('/blobs/');
  if (at > 0) return serveBlob(req, pathname.slice(at + '/blobs/'.length));
  at = pathname.lastIndexOf('/manifests/');
  if (at > 0) {
    const repo = pathname.slice(4, at);
    const reference = pathname.slice(at + '/manifests/'.length);
    if (req.method === 'PUT') return putManifest(req, repo, reference);
    return serveManifest(req, repo, reference);
  }
  return new Response(null, { status: 404 });
}

async function serveBlob(req: Request, digest: string): Promise<Response> {
  const file = Bun.file(path.join(blobsDir, digest.slice(digest.indexOf(':') + 1)));
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': digest };
  if (req.method === 'HEAD') {
    if (!(await file.exists())) return new Response(null, { status: 404 });
    return new Response(null, { headers: { ...headers, 'Content-Length': String(file.size) } });
  }
  const range = req.headers.get('range');
  if (range) {
    const m = /^bytes=(\d+)-(\d+)$/.exec(range);
    if (!m) return new Response(null, { status: 416 });
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), file.size - 1);
    headers['Content-Range'] = `bytes ${start}-${end}/${file.size}`;
    return new Response(file.slice(start, end + 1), { status: 206, headers });
  }
  return new Response(file, { headers });
}

function serveManifest(req: Request, repo: string, reference: string): Response {
  const m = manifests.get(`${repo}@${reference}`);
  if (!m) return new Response(null, { status: 404 });
  const headers = { 'Content-Type': m.mediaType, 'Docker-Content-Digest': m.digest, 'Content-Length': String(m.bytes.length) };
  return new Response(req.method === 'HEAD' ? null : m.bytes, { headers });
}

async function putManifest(req: Request, repo: string, reference: string): Promise<Response> {
  const bytes = new Uint8Array(await req.arrayBuffer());
  const hasher = new Bun.CryptoHasher('sha256');
  hasher.update(bytes);
  const digest = `sha256:${hasher.digest('hex')}`;
  const stored = { bytes, mediaType: req.headers.get('content-type') ?? 'application/octet-stream', digest };
  manifests.set(`${repo}@${digest}`, stored);
  if (reference !== digest) manifests.set(`${repo}@${reference}`, stored);
  return new Response(null, { status: 201, headers: { Location: `/v2/${repo}/manifests/${digest}`, 'Docker-Content-Digest': digest } });
}

async function startUpload(req: Request, repo: string, digest: string | null): Promise<Response> {
  const id = crypto.randomUUID();
  const file = path.join(uploadsDir, id);
  const upload: Upload = { fd: fs.openSync(file, 'w'), file, size: 0, hasher: new Bun.CryptoHasher('sha256') };
  uploads.set(id, upload);
  if (digest === null) return sessionResponse(repo, id, upload);
  await append(upload, req.body);
  return finish(repo, id, upload, digest);
}

async function append(upload: Upload, body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (!body) return;
  for await (const chunk of body) {
    upload.hasher.update(chunk);
    let off = 0;
    while (off < chunk.byteLength) off += fs.writeSync(upload.fd, chunk, off, chunk.byteLength - off, upload.size + off);
    upload.size += chunk.byteLength;
  }
}

async function finish(repo: string, id: string, upload: Upload, digest: string): Promise<Response> {
  uploads.delete(id);
  const actual = `sha256:${upload.hasher.digest('hex')}`;
  await new Promise<void>((resolve, reject) => fs.fsync(upload.fd, (e) => (e ? reject(e) : resolve())));
  fs.closeSync(upload.fd);
  if (actual !== digest) {
    fs.rmSync(upload.file, { force: true });
    return new Response(null, { status: 400 });
  }
  await fs.promises.rename(upload.file, path.join(blobsDir, actual.slice(7)));
  return new Response(null, { status: 201, headers: { Location: `/v2/${repo}/blobs/${digest}`, 'Docker-Content-Digest': digest } });
}

function sessionResponse(repo: string, id: string, upload: Upload): Response {
  const headers = { Location: `/v2/${repo}/blobs/uploads/${id}`, Range: `0-${Math.max(upload.size - 1, 0)}` };
  return new Response(null, { status: 202, headers });
}

function loadManifests(file: string): void {
  if (!fs.existsSync(file)) return;
  const list = JSON.parse(fs.readFileSync(file, 'utf8')) as { repo: string; tags: string[]; digest: string; mediaType: string; base64: string }[];
  for (const m of list) {
    const stored = { bytes: new Uint8Array(Buffer.from(m.base64, 'base64')), mediaType: m.mediaType, digest: m.digest };
    for (const ref of [m.digest, ...m.tags]) manifests.set(`${m.repo}@${ref}`, stored);
  }
}
