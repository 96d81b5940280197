/**
 * The S3 calls the blob store makes. Objects are read, written, listed and deleted with Bun's built-in
 * `Bun.S3Client`; multipart uploads and server-side copies, which it does not expose, are signed here (SigV4) and
 * sent with fetch. Every call has a deadline and every response read is bounded.
 */
import { EMPTY_SHA256, payloadHash, signRequest, uriEncode, type SigV4Credentials } from './s3-sigv4.ts';

/** Where the bucket is and who we are. */
export interface S3Connection {
  bucket: string;
  /** e.g. `http://127.0.0.1:8333`; default: AWS (`https://s3.<region>.amazonaws.com`). */
  endpoint?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** `https://<bucket>.<host>/key` instead of `https://<host>/<bucket>/key`. */
  virtualHostedStyle?: boolean;
  /** Deadline of one S3 request in ms. @default 120000 */
  requestTimeoutMs?: number;
}

/** An S3 error answer (or a transport failure) with S3's error code when it sent one. */
export class S3RequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'S3RequestError';
  }
}

/** A part of a multipart upload, as CompleteMultipartUpload wants it. */
export interface CompletedPart {
  n: number;
  etag: string;
}

/** One entry of ListObjectsV2. */
export interface ListedObject {
  key: string;
  size: number;
  lastModified: number;
}

/** Largest S3 XML answer read (CompleteMultipartUpload, copies, errors); anything longer is refused. */
const MAX_XML = 1 << 20;

/** Client of one bucket. */
export class S3Api {
  readonly client: Bun.S3Client;
  private readonly credentials: SigV4Credentials;
  private readonly base: URL;
  private readonly timeoutMs: number;

  constructor(readonly connection: S3Connection) {
    const endpoint = connection.endpoint ?? `https://s3.${connection.region}.amazonaws.com`;
    this.client = new Bun.S3Client({
      bucket: connection.bucket,
      endpoint,
      region: connection.region,
      accessKeyId: connection.accessKeyId,
      secretAccessKey: connection.secretAccessKey,
      sessionToken: connection.sessionToken,
      virtualHostedStyle: connection.virtualHostedStyle,
    });
    this.credentials = connection;
    const url = new URL(endpoint);
    if (connection.virtualHostedStyle) url.host = `${connection.bucket}.${url.host}`;
    else url.pathname = `${url.pathname.replace(/\/+$/, '')}/${uriEncode(connection.bucket)}`;
    this.base = url;
    this.timeoutMs = connection.requestTimeoutMs ?? 120_000;
  }

  /** Size and modification time of an object, or undefined when there is none. */
  async head(key: string): Promise<{ size: number; lastModified: number } | undefined> {
    try {
      const st = await this.deadline(this.client.stat(key), `HEAD ${key}`);
      return { size: st.size, lastModified: st.lastModified.getTime() };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Writes a whole object (atomic in S3: readers see the old state or all of it). */
  async put(key: string, body: Uint8Array | string, type = 'application/octet-stream'): Promise<void> {
    await this.deadline(this.client.write(key, body, { type }), `PUT ${key}`);
  }

  /** The object in memory, or undefined when there is none; at most `max` bytes are read (a ranged GET). */
  async get(key: string, max: number): Promise<Uint8Array | undefined> {
    try {
      return await this.deadline(this.client.file(key).slice(0, max).bytes(), `GET ${key}`);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Streams an object; each chunk must arrive within the request deadline (a stalled S3 does not hang us). */
  async *read(key: string): AsyncIterable<Uint8Array> {
    const reader = this.client.file(key).stream().getReader();
    try {
      for (;;) {
        const { done, value } = await this.deadline(reader.read(), `GET ${key}`);
        if (done) return;
        yield value;
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }

  /** A lazy reference to an object (a Blob whose reads are S3 GETs, ranged for slices). */
  file(key: string): Bun.S3File {
    return this.client.file(key);
  }

  /** Deletes an object; deleting an absent one is not an error (as in S3). */
  async delete(key: string): Promise<void> {
    try {
      await this.deadline(this.client.delete(key), `DELETE ${key}`);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Every object under `prefix`, page by page (ListObjectsV2 with continuation tokens). */
  async *list(prefix: string, pageSize = 1000): AsyncIterable<ListedObject> {
    let continuationToken: string | undefined;
    for (;;) {
      const page = await this.deadline(this.client.list({ prefix, continuationToken, maxKeys: pageSize }), `LIST ${prefix}`);
      for (const o of page.contents ?? []) {
        yield { key: o.key, size: o.size ?? 0, lastModified: o.lastModified ? Date.parse(o.lastModified) : 0 };
      }
      if (!page.isTruncated || !page.nextContinuationToken) return;
      continuationToken = page.nextContinuationToken;
    }
  }

  /** A time-limited GET URL that needs no credentials. */
  presign(key: string, expiresIn: number): string {
    return this.client.presign(key, { method: 'GET', expiresIn });
  }

  /** CreateMultipartUpload: the upload id. */
  async createMultipart(key: string): Promise<string> {
    const xml = await this.send('POST', key, { uploads: '' }, { 'content-type': 'application/octet-stream' });
    const id = tag(xml, 'UploadId');
    if (!id) throw new S3RequestError(`CreateMultipartUpload ${key}: no UploadId in the answer`, 502);
    return id;
  }

  /** UploadPart: the part's ETag. The payload hash is signed, so S3 rejects bytes damaged on the way. */
  async uploadPart(key: string, uploadId: string, n: number, body: Uint8Array): Promise<string> {
    const res = await this.request('PUT', key, { partNumber: String(n), uploadId }, {}, body);
    await readXml(res, `UploadPart ${key} #${n}`);
    const etag = res.headers.get('etag');
    if (!etag) throw new S3RequestError(`UploadPart ${key} #${n}: no ETag`, 502);
    return etag;
  }

  /** UploadPartCopy of bytes `first..last` (inclusive) of `source`: the part's ETag. */
  async copyPart(key: string, uploadId: string, n: number, source: string, first: number, last: number): Promise<string> {
    const xml = await this.send('PUT', key, { partNumber: String(n), uploadId }, {
      'x-amz-copy-source': this.copySource(source),
      'x-amz-copy-source-range': `bytes=${first}-${last}`,
    });
    const etag = tag(xml, 'ETag');
    if (!etag) throw new S3RequestError(`UploadPartCopy ${key} #${n}: no ETag`, 502);
    return decodeXml(etag);
  }

  /** CompleteMultipartUpload. S3 may answer 200 with an error body, which is checked. */
  async completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    const body = `<CompleteMultipartUpload>${parts
      .map((p) => `<Part><PartNumber>${p.n}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`)
      .join('')}</CompleteMultipartUpload>`;
    await this.send('POST', key, { uploadId }, { 'content-type': 'application/xml' }, body);
  }

  /** AbortMultipartUpload; an upload S3 no longer knows is already gone. */
  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.send('DELETE', key, { uploadId });
    } catch (e) {
      if (!(e instanceof S3RequestError && (e.status === 404 || e.code === 'NoSuchUpload'))) throw e;
    }
  }

  /** CopyObject (server-side, up to 5 GiB). S3 may answer 200 with an error body, which is checked. */
  async copyObject(source: string, key: string): Promise<void> {
    await this.send('PUT', key, {}, { 'x-amz-copy-source': this.copySource(source) });
  }

  /** Open multipart uploads under `prefix` (ListMultipartUploads, first 1000). */
  async listMultipart(prefix: string): Promise<{ key: string; uploadId: string; initiated: number }[]> {
    const xml = await this.send('GET', '', { uploads: '', prefix, 'max-uploads': '1000' });
    const out: { key: string; uploadId: string; initiated: number }[] = [];
    for (const block of xml.split('<Upload>').slice(1)) {
      const key = tag(block, 'Key');
      const uploadId = tag(block, 'UploadId');
      const initiated = Date.parse(tag(block, 'Initiated') ?? '');
      if (key && uploadId) out.push({ key: decodeXml(key), uploadId: decodeXml(uploadId), initiated: Number.isNaN(initiated) ? 0 : initiated });
    }
    return out;
  }

  private copySource(key: string): string {
    return `/${uriEncode(this.connection.bucket)}/${uriEncode(key, true)}`;
  }

  /** A signed request whose answer is read as (bounded) XML and checked for an S3 error. */
  private async send(method: string, key: string, query: Record<string, string>, headers: Record<string, string> = {}, body?: string): Promise<string> {
    const res = await this.request(method, key, query, headers, body);
    return readXml(res, `${method} ${key || '/'}`);
  }

  private async request(method: string, key: string, query: Record<string, string>, headers: Record<string, string>, body?: Uint8Array | string): Promise<Response> {
    const url = new URL(this.base);
    if (key) url.pathname = `${url.pathname.replace(/\/+$/, '')}/${uriEncode(key, true)}`;
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const hash = body === undefined ? EMPTY_SHA256 : payloadHash(body);
    const signed = signRequest(this.credentials, method, url, headers, hash);
    delete signed.host;
    try {
      return await fetch(url, { method, headers: signed, body, signal: AbortSignal.timeout(this.timeoutMs), redirect: 'manual' });
    } catch (e) {
      throw new S3RequestError(`${method} ${url.pathname}: ${(e as Error).message}`, 503);
    }
  }

  /** Bun.S3Client calls take no signal: race them against the request deadline. */
  private deadline<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: Timer | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new S3RequestError(`${what}: no answer within ${this.timeoutMs} ms`, 504)), this.timeoutMs);
    });
    return Promise.race([work, limit]).finally(() => clearTimeout(timer));
  }
}

/** True for Bun.S3Client's and our own "no such object" errors. */
export function isNotFound(e: unknown): boolean {
  if (e instanceof S3RequestError) return e.status === 404;
  const err = e as { code?: string; name?: string; message?: string } | undefined;
  return err?.code === 'NoSuchKey' || err?.code === 'ERR_S3_FILE_NOT_FOUND' || err?.code === 'NotFound' || /\b404\b|not found/i.test(err?.message ?? '');
}

async function readXml(res: Response, what: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > MAX_XML) {
    await res.body?.cancel();
    throw new S3RequestError(`${what}: answer of ${declared} bytes is too large`, 502);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      total += chunk.byteLength;
      if (total > MAX_XML) throw new S3RequestError(`${what}: answer is too large`, 502);
      chunks.push(chunk);
    }
  }
  const text = new TextDecoder().decode(Buffer.concat(chunks));
  const code = tag(text, 'Code');
  if (res.status >= 300 || (text.includes('<Error>') && code)) {
    throw new S3RequestError(`${what}: ${res.status} ${code ?? ''} ${tag(text, 'Message') ?? ''}`.trim(), res.status >= 300 ? res.status : 502, code);
  }
  return text;
}

/** The text of the first `<name>` element (answers are bounded, and this scans linearly). */
function tag(xml: string, name: string): string | undefined {
  const open = `<${name}>`;
  const start = xml.indexOf(open);
  if (start < 0) return undefined;
  const end = xml.indexOf(`</${name}>`, start + open.length);
  return end < 0 ? undefined : xml.slice(start + open.length, end);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function decodeXml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#34;/g, '"').replace(/&amp;/g, '&');
}
