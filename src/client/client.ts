/**
 * A small OCI distribution client: speaks the API to any registry (Marina, Distribution, zot, hubs), with
 * Basic/Bearer auth, streamed blob reads, monolithic and chunked pushes, mounts, paginated listings, and the
 * referrers API with the spec's tag-schema fallback for registries that lack it.
 */
import { ERROR_TABLE, RegistryError, type ErrorCode } from '../errors.ts';
import { parseDigest, digestOf, digestAlgorithm, type Digest } from '../oci/digest.ts';
import { parseManifest } from '../oci/manifest.ts';
import { OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST } from '../oci/media-types.ts';
import type { ReferrerDescriptor } from '../storage/types.ts';
import { Authenticator, type Credentials } from './auth.ts';
import { nextLink } from './link.ts';
import { readReferrersIndex, referrersTag, writeReferrersIndex } from './referrers-tag.ts';

/** Options of {@link RegistryClient}. */
export interface ClientOptions {
  /** Base URL of the registry, e.g. `http://127.0.0.1:5000`. */
  registry: string;
  credentials?: Credentials;
  /** Token realms that may receive the credentials. @default the registry's own host */
  trustedRealmHosts?: string[];
  /** The fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Sent as User-Agent. @default "marina-client" */
  userAgent?: string;
  /** Most pages followed in one listing (a registry whose Link never ends is refused). @default 1000 */
  maxListingPages?: number;
}

/** A manifest as fetched. */
export interface FetchedManifest {
  digest: Digest;
  mediaType: string;
  body: Uint8Array;
}

/** Every manifest type, for Accept. */
export const ALL_MANIFEST_TYPES = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST];

type Action = 'pull' | 'push' | 'delete';

interface RequestOptions {
  repository?: string;
  actions?: Action[];
  headers?: Record<string, string>;
  body?: Uint8Array | ReadableStream<Uint8Array>;
}

/** A client for one registry. */
export class RegistryClient {
  readonly base: string;
  private readonly fetcher: typeof fetch;
  private readonly auth: Authenticator;
  private readonly userAgent: string;
  private readonly maxListingPages: number;

  constructor(options: ClientOptions) {
    this.base = options.registry.replace(/\/+$/, '');
    this.fetcher = options.fetch ?? fetch;
    this.auth = new Authenticator(options.credentials, this.fetcher, options.trustedRealmHosts);
    this.userAgent = options.userAgent ?? 'marina-client';
    this.maxListingPages = options.maxListingPages ?? 1000;
  }

  /**
   * Sends a request with auth: a cached token first, then one retry after answering a 401 challenge.
   * A streamed body cannot be replayed, so callers authenticate with a body-less request first (POST of an upload).
   */
  async request(method: string, pathOrUrl: string, options: RequestOptions = {}): Promise<Response> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.base}${pathOrUrl}`;
    const scope = options.repository ? `repository:${options.repository}:${(options.actions ?? ['pull']).join(',')}` : 'registry:catalog:*';
    const send = (authorization?: string) => {
      const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...options.headers };
      if (authorization) headers.Authorization = authorization;
      return this.fetcher(url, { method, headers, body: options.body, redirect: 'follow', duplex: 'half' } as RequestInit);
    };
    const first = await send(this.auth.cached(scope) ?? undefined);
    if (first.status !== 401) return first;
    const challenge = first.headers.get('www-authenticate');
    if (!challenge || options.body instanceof ReadableStream) return first;
    await first.body?.cancel();
    const authorization = await this.auth.answer(challenge, scope, new URL(this.base).host);
    return authorization ? send(authorization) : first;
  }

  /** True when the registry answers `/v2/` with 200 (after auth). */
  async ping(): Promise<boolean> {
    const res = await this.request('GET', '/v2/');
    await res.body?.cancel();
    return res.ok;
  }

  /** Digest, type and size of a manifest, or undefined when absent. */
  async headManifest(repository: string, reference: string, accept = ALL_MANIFEST_TYPES): Promise<{ digest: Digest; mediaType: string; size: number } | undefined> {
    const res = await this.request('HEAD', `/v2/${repository}/manifests/${reference}`, { repository, headers: { Accept: accept.join(', ') } });
    if (res.status === 404) return undefined;
    await expectOk(res, 'HEAD manifest');
    const digest = res.headers.get('docker-content-digest');
    return {
      digest: digest ? parseDigest(digest) : parseDigest(reference),
      mediaType: res.headers.get('content-type') ?? OCI_MANIFEST,
      size: Number(res.headers.get('content-length') ?? 0),
    };
  }

  /** A manifest's bytes, verified against its digest, or undefined when absent. */
  async getManifest(repository: string, reference: string, accept = ALL_MANIFEST_TYPES): Promise<FetchedManifest | undefined> {
    const res = await this.request('GET', `/v2/${repository}/manifests/${reference}`, { repository, headers: { Accept: accept.join(', ') } });
    if (res.status === 404) return undefined;
    await expectOk(res, 'GET manifest');
    const body = new Uint8Array(await res.arrayBuffer());
    const header = res.headers.get('docker-content-digest');
    const expected = reference.includes(':') ? parseDigest(reference) : header ? parseDigest(header) : digestOf(body);
    const actual = digestOf(body, digestAlgorithm(expected));
    // The registry sent content that is not what it named: a bad answer from the far side, hence 502.
    if (actual !== expected) throw new RegistryError('DIGEST_INVALID', `manifest ${reference} does not match its digest ${expected}`, { status: 502 });
    return { digest: expected, mediaType: res.headers.get('content-type') ?? OCI_MANIFEST, body };
  }

  /**
   * Pushes a manifest. When it has a `subject` and the registry did not confirm it (no OCI-Subject), the
   * referrers tag schema is updated so that discovery still works.
   */
  async putManifest(repository: string, reference: string, body: Uint8Array, mediaType: string, options: { tags?: string[] } = {}): Promise<{ digest: Digest; subjectHandled: boolean }> {
    const query = options.tags?.length ? `?${options.tags.map((t) => `tag=${encodeURIComponent(t)}`).join('&')}` : '';
    const res = await this.request('PUT', `/v2/${repository}/manifests/${reference}${query}`, {
      repository,
      actions: ['pull', 'push'],
      headers: { 'Content-Type': mediaType },
      body,
    });
    await expectStatus(res, [201], 'PUT manifest');
    const header = res.headers.get('docker-content-digest');
    const digest = header ? parseDigest(header) : reference.includes(':') ? parseDigest(reference) : digestOf(body);
    const parsed = parseManifest(body, mediaType);
    if (!parsed.subject || res.headers.has('oci-subject')) return { digest, subjectHandled: Boolean(parsed.subject) };
    const descriptor: ReferrerDescriptor = { mediaType: parsed.mediaType, digest, size: body.byteLength };
    if (parsed.artifactType !== undefined) descriptor.artifactType = parsed.artifactType;
    if (parsed.annotations !== undefined) descriptor.annotations = parsed.annotations;
    await this.updateReferrersTag(repository, parsed.subject.digest, (list) => [...list.filter((d) => d.digest !== digest), descriptor]);
    return { digest, subjectHandled: true };
  }

  /** Deletes a tag or manifest; removes it from the fallback referrers index when the registry needs that. */
  async deleteManifest(repository: string, reference: string): Promise<boolean> {
    let subject: Digest | undefined;
    if (reference.includes(':') && !(await this.hasReferrersApi(repository))) {
      const manifest = await this.getManifest(repository, reference);
      if (manifest) subject = parseManifest(manifest.body, manifest.mediaType).subject?.digest;
    }
    const res = await this.request('DELETE', `/v2/${repository}/manifests/${reference}`, { repository, actions: ['delete'] });
    if (res.status === 404) return false;
    await expectStatus(res, [202], 'DELETE manifest');
    if (subject) await this.updateReferrersTag(repository, subject, (list) => list.filter((d) => d.digest !== reference));
    return true;
  }

  /** Size of a blob, or undefined. */
  async headBlob(repository: string, digest: string): Promise<number | undefined> {
    const res = await this.request('HEAD', `/v2/${repository}/blobs/${digest}`, { repository });
    if (res.status === 404) return undefined;
    await expectOk(res, 'HEAD blob');
    return Number(res.headers.get('content-length') ?? 0);
  }

  /** A blob's response, to stream (`res.body`); `range` asks for an inclusive byte range. */
  async getBlob(repository: string, digest: string, options: { range?: { start: number; end?: number } } = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (options.range) headers.Range = `bytes=${options.range.start}-${options.range.end ?? ''}`;
    const res = await this.request('GET', `/v2/${repository}/blobs/${digest}`, { repository, headers });
    await expectStatus(res, options.range ? [200, 206] : [200], 'GET blob');
    return res;
  }

  /** Tries a cross-repository mount; true when the registry linked the blob (201). */
  async mountBlob(repository: string, digest: string, from?: string): Promise<boolean> {
    const query = `mount=${digest}${from ? `&from=${from}` : ''}`;
    const res = await this.request('POST', `/v2/${repository}/blobs/uploads/?${query}`, { repository, actions: ['pull', 'push'] });
    await settle(res, [201, 202], 'POST mount');
    return res.status === 201;
  }

  /**
   * Uploads a blob: POST then one PUT (monolithic), or PATCHes of `chunkSize` (a Uint8Array body) then PUT.
   * A stream body goes up in one streamed PATCH.
   */
  async pushBlob(repository: string, body: Uint8Array | ReadableStream<Uint8Array>, digest: string, options: { chunkSize?: number } = {}): Promise<void> {
    const start = await this.request('POST', `/v2/${repository}/blobs/uploads/`, { repository, actions: ['pull', 'push'] });
    await settle(start, [201, 202], 'POST upload');
    if (start.status === 201) return;
    let location = this.resolve(start, `/v2/${repository}/blobs/uploads/`);
    const push = { repository, actions: ['pull', 'push'] as Action[] };
    if (body instanceof ReadableStream || options.chunkSize) {
      const chunks = body instanceof ReadableStream ? [body] : slices(body, options.chunkSize!);
      let offset = 0;
      for (const chunk of chunks) {
        const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
        if (chunk instanceof Uint8Array) {
          headers['Content-Range'] = `${offset}-${offset + chunk.byteLength - 1}`;
          headers['Content-Length'] = String(chunk.byteLength);
          offset += chunk.byteLength;
        }
        const res = await this.request('PATCH', location, { ...push, headers, body: chunk });
        await settle(res, [202], 'PATCH upload');
        location = this.resolve(res, location);
      }
      const done = await this.request('PUT', withQuery(location, `digest=${digest}`), { ...push, headers: { 'Content-Length': '0' } });
      return settle(done, [201], 'PUT upload');
    }
    const done = await this.request('PUT', withQuery(location, `digest=${digest}`), {
      ...push,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.byteLength) },
      body,
    });
    await settle(done, [201], 'PUT upload');
  }

  /** Every tag, following Link pagination; undefined for an unknown repository. */
  async listTags(repository: string, options: { pageSize?: number } = {}): Promise<string[] | undefined> {
    const out: string[] = [];
    let pages = 0;
    let url: string | undefined = `${this.base}/v2/${repository}/tags/list${options.pageSize ? `?n=${options.pageSize}` : ''}`;
    while (url) {
      const res = await this.request('GET', url, { repository });
      if (res.status === 404) return undefined;
      await expectOk(res, 'GET tags');
      out.push(...(((await res.json()) as { tags?: string[] | null }).tags ?? []));
      url = this.nextPage(res, url, ++pages);
    }
    return out;
  }

  /** Referrers of a subject: the referrers API, or the tag schema when the registry has none. */
  async listReferrers(repository: string, subject: string, options: { artifactType?: string } = {}): Promise<ReferrerDescriptor[]> {
    const digest = parseDigest(subject);
    const out: ReferrerDescriptor[] = [];
    let pages = 0;
    let url: string | undefined = `${this.base}/v2/${repository}/referrers/${digest}${options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : ''}`;
    while (url) {
      const res = await this.request('GET', url, { repository });
      if (res.status === 404 && out.length === 0) {
        await res.body?.cancel();
        const fallback = await this.getManifest(repository, referrersTag(digest), [OCI_INDEX]);
        return filterType(readReferrersIndex(fallback?.body), options.artifactType);
      }
      await expectOk(res, 'GET referrers');
      const filtered = (res.headers.get('oci-filters-applied') ?? '').split(',').map((s) => s.trim()).includes('artifactType');
      const page = ((await res.json()) as { manifests?: ReferrerDescriptor[] }).manifests ?? [];
      out.push(...(filtered ? page : filterType(page, options.artifactType)));
      url = this.nextPage(res, url, ++pages);
    }
    return out;
  }

  /** True when the registry serves the referrers API (a 404 means it does not). */
  async hasReferrersApi(repository: string): Promise<boolean> {
    const probe = digestOf('marina referrers probe');
    const res = await this.request('GET', `/v2/${repository}/referrers/${probe}`, { repository });
    await res.body?.cancel();
    return res.status === 200;
  }

  private async updateReferrersTag(repository: string, subject: Digest, change: (list: ReferrerDescriptor[]) => ReferrerDescriptor[]): Promise<void> {
    const tag = referrersTag(subject);
    const current = await this.getManifest(repository, tag, [OCI_INDEX]);
    const body = writeReferrersIndex(change(readReferrersIndex(current?.body)));
    const res = await this.request('PUT', `/v2/${repository}/manifests/${tag}`, {
      repository,
      actions: ['pull', 'push'],
      headers: { 'Content-Type': OCI_INDEX },
      body,
    });
    await expectStatus(res, [201], 'PUT referrers tag');
  }

  /** The next page of a listing; a Link to another origin is refused, so credentials stay with the registry. */
  private nextPage(res: Response, url: string, pages: number): string | undefined {
    const next = nextLink(res.headers.get('link'), url);
    if (next !== undefined && pages >= this.maxListingPages) {
      throw new RegistryError('UNKNOWN', `the registry's listing went on past ${this.maxListingPages} pages`, { status: 502 });
    }
    if (next !== undefined && new URL(next).origin !== new URL(this.base).origin) {
      throw new RegistryError('UNKNOWN', 'the registry sent a Link to another origin', { status: 502 });
    }
    return next;
  }

  private resolve(res: Response, fallback: string): string {
    return new URL(res.headers.get('location') ?? fallback, `${this.base}/`).toString();
  }
}

function slices(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; at += size) out.push(bytes.subarray(at, at + size));
  return out.length ? out : [bytes];
}

function withQuery(url: string, query: string): string {
  return url + (url.includes('?') ? '&' : '?') + query;
}

function filterType(list: ReferrerDescriptor[], artifactType: string | undefined): ReferrerDescriptor[] {
  return artifactType === undefined ? list : list.filter((d) => d.artifactType === artifactType);
}

async function expectOk(res: Response, what: string): Promise<void> {
  if (!res.ok) throw await failure(res, what);
}

/** Checks the status (reading the error body on failure), then discards the body. */
async function settle(res: Response, statuses: number[], what: string): Promise<void> {
  await expectStatus(res, statuses, what);
  await res.body?.cancel();
}

async function expectStatus(res: Response, statuses: number[], what: string): Promise<void> {
  if (!statuses.includes(res.status)) throw await failure(res, what);
}

/** Turns an unexpected response into a RegistryError carrying the registry's own code when it sent one. */
async function failure(res: Response, what: string): Promise<RegistryError> {
  let code: ErrorCode = 'UNKNOWN';
  let message = `${what}: HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { errors?: { code?: string; message?: string }[] };
    const first = body.errors?.[0];
    if (first?.code && first.code in ERROR_TABLE) code = first.code as ErrorCode;
    if (first?.message) message = `${what}: ${first.message} (HTTP ${res.status})`;
  } catch {
    // Not a spec error body; keep the status.
  }
  return new RegistryError(code, message, { status: res.status });
}
