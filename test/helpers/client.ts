/**
 * A tiny registry client for tests. It speaks through any `Request → Response` transport: `registry.fetch`
 * in-process, or the global `fetch` against a real server. Pushes assert their success status, so a test reads
 * as the behaviour it checks rather than as protocol plumbing.
 */
import { expect } from 'bun:test';
import { digestOf, type Digest, type DigestAlgorithm } from '../../src/oci/digest.ts';

/** Sends a request somewhere and returns the response. */
export type Transport = (request: Request) => Promise<Response>;

/** Request options: a body, headers, and whether to leave Content-Length off a byte body. */
export interface SendOptions {
  body?: Uint8Array | string | ReadableStream<Uint8Array>;
  headers?: Record<string, string>;
  /** Do not add Content-Length to a byte body (as an in-process caller or a chunked client would send it). */
  noLength?: boolean;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** An OCI descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string };
  urls?: string[];
}

const encoder = new TextEncoder();

/** Bytes of a string or JSON value. */
export function bytesOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  return encoder.encode(typeof value === 'string' ? value : JSON.stringify(value));
}

/** `n` random bytes (any size; getRandomValues is limited to 64 KiB per call). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  return out;
}

/** A descriptor of `bytes` as `mediaType`. */
export function descriptorOf(mediaType: string, bytes: Uint8Array, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: digestOf(bytes), size: bytes.byteLength, ...extra };
}

/** A stream yielding `parts` one chunk each (a chunked body with no length). */
export function streamOf(...parts: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const p of parts) controller.enqueue(p);
      controller.close();
    },
  });
}

/** Asserts a spec error response: status, API version header, JSON `{errors:[{code,message,...}]}`; returns the entry. */
export async function expectError(res: Response, status: number, code: string): Promise<{ code: string; message: string; detail?: any }> {
  const text = await res.text();
  expect({ status: res.status, text }).toMatchObject({ status });
  expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  expect(res.headers.get('content-type')).toBe('application/json');
  expect(Number(res.headers.get('content-length'))).toBe(encoder.encode(text).byteLength);
  const body = JSON.parse(text) as { errors: { code: string; message: string; detail?: unknown }[] };
  expect(Array.isArray(body.errors)).toBe(true);
  expect(body.errors.length).toBeGreaterThanOrEqual(1);
  const first = body.errors[0]!;
  expect(first.code).toBe(code);
  expect(typeof first.message).toBe('string');
  expect(first.message.length).toBeGreaterThan(0);
  return first;
}

/** Options of {@link Client.pushImage}. */
export interface ImageOptions {
  /** Tag or digest to push under; defaults to the manifest's digest. */
  reference?: string;
  config?: Uint8Array;
  configMediaType?: string;
  layers?: Uint8Array[];
  layerMediaType?: string;
  mediaType?: string | null;
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
  /** Extra top-level fields. */
  extra?: Record<string, unknown>;
  /** `?tag=` parameters. */
  tags?: string[];
}

/** A pushed manifest. */
export interface Pushed {
  digest: Digest;
  bytes: Uint8Array;
  mediaType: string;
  descriptor: Descriptor;
  response: Response;
}

/** A registry client over a transport. */
export class Client {
  constructor(
    readonly transport: Transport,
    readonly base = 'http://registry.test',
  ) {}

  /** An absolute URL for a path (or a Location header value, absolute or relative). */
  url(pathOrUrl: string): string {
    return new URL(pathOrUrl, this.base).toString();
  }

  /** Sends one request. Byte bodies get a Content-Length, as real clients send them, unless `noLength`. */
  send(method: string, pathOrUrl: string, options: SendOptions = {}): Promise<Response> {
    const headers = new Headers(options.headers);
    let body = options.body;
    if (typeof body === 'string') body = encoder.encode(body);
    if (body instanceof Uint8Array && !options.noLength && !headers.has('content-length')) {
      headers.set('content-length', String(body.byteLength));
    }
    return this.transport(new Request(this.url(pathOrUrl), { method, headers, body: body ?? null }));
  }

  get(path: string, headers?: Record<string, string>): Promise<Response> {
    return this.send('GET', path, { headers });
  }

  head(path: string, headers?: Record<string, string>): Promise<Response> {
    return this.send('HEAD', path, { headers });
  }

  delete(path: string): Promise<Response> {
    return this.send('DELETE', path);
  }

  /** Monolithic POST upload; asserts 201 and returns the digest. */
  async pushBlob(repo: string, bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Promise<Digest> {
    const digest = digestOf(bytes, algorithm);
    const res = await this.send('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    return digest;
  }

  /** Opens an upload session; asserts 202 and returns its Location (resolved to an absolute URL). */
  async startUpload(repo: string, query = ''): Promise<string> {
    const res = await this.send('POST', `/v2/${repo}/blobs/uploads/${query}`);
    expect(res.status).toBe(202);
    const location = res.headers.get('location');
    expect(location).toBeTruthy();
    return this.url(location!);
  }

  /** PUTs a manifest; returns the raw response (no status assertion). */
  putManifest(repo: string, reference: string, body: unknown, contentType?: string | null, query = ''): Promise<Response> {
    const headers: Record<string, string> = {};
    if (contentType) headers['content-type'] = contentType;
    return this.send('PUT', `/v2/${repo}/manifests/${reference}${query}`, { body: bytesOf(body), headers });
  }

  /** PUTs a manifest and asserts 201; returns digest and bytes. */
  async pushManifest(repo: string, reference: string | undefined, body: unknown, contentType: string): Promise<Pushed> {
    const bytes = bytesOf(body);
    const digest = digestOf(bytes);
    const response = await this.putManifest(repo, reference ?? digest, bytes, contentType);
    if (response.status !== 201) throw new Error(`manifest push failed: ${response.status} ${await response.text()}`);
    expect(response.headers.get('docker-content-digest')).toBe(digest);
    return { digest, bytes, mediaType: contentType, descriptor: descriptorOf(contentType, bytes), response };
  }

  /** Pushes config and layers, then an image manifest built from them. */
  async pushImage(repo: string, options: ImageOptions = {}): Promise<Pushed & { manifest: Record<string, unknown>; layers: Descriptor[] }> {
    const config = options.config ?? bytesOf({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: Math.random() });
    await this.pushBlob(repo, config);
    const layers: Descriptor[] = [];
    for (const layer of options.layers ?? [randomBytes(64)]) {
      await this.pushBlob(repo, layer);
      layers.push(descriptorOf(options.layerMediaType ?? OCI_LAYER, layer));
    }
    const mediaType = options.mediaType === undefined ? OCI_MANIFEST : options.mediaType;
    const manifest: Record<string, unknown> = { schemaVersion: 2 };
    if (mediaType !== null) manifest.mediaType = mediaType;
    if (options.artifactType) manifest.artifactType = options.artifactType;
    manifest.config = descriptorOf(options.configMediaType ?? OCI_CONFIG, config);
    manifest.layers = layers;
    if (options.subject) manifest.subject = options.subject;
    if (options.annotations) manifest.annotations = options.annotations;
    Object.assign(manifest, options.extra);
    const bytes = bytesOf(manifest);
    const digest = digestOf(bytes);
    const query = (options.tags ?? []).map((t, i) => `${i ? '&' : '?'}tag=${t}`).join('');
    const contentType = mediaType ?? OCI_MANIFEST;
    const response = await this.putManifest(repo, options.reference ?? digest, bytes, contentType, query);
    if (response.status !== 201) throw new Error(`image push failed: ${response.status} ${await response.text()}`);
    return { digest, bytes, mediaType: contentType, descriptor: descriptorOf(contentType, bytes), response, manifest, layers };
  }

  /** Pushes an index of already-pushed manifests. */
  async pushIndex(repo: string, children: Descriptor[], options: { reference?: string; mediaType?: string; artifactType?: string; subject?: Descriptor; annotations?: Record<string, string> } = {}): Promise<Pushed> {
    const mediaType = options.mediaType ?? OCI_INDEX;
    const index: Record<string, unknown> = { schemaVersion: 2, mediaType, manifests: children };
    if (options.artifactType) index.artifactType = options.artifactType;
    if (options.subject) index.subject = options.subject;
    if (options.annotations) index.annotations = options.annotations;
    return this.pushManifest(repo, options.reference, index, mediaType);
  }
}
