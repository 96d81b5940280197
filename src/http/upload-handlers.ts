/** The blob upload endpoints: POST (start, monolithic, mount), PATCH, PUT, GET status, DELETE. */
import { appendUpload, cancelUpload, finishUpload, startUpload, uploadStatus, type UploadState } from '../core/uploads.ts';
import { RegistryError } from '../errors.ts';
import { isDigestAlgorithm, parseDigest, type Digest } from '../oci/digest.ts';
import { parseRepositoryName } from '../oci/names.ts';
import { parseContentRange, type ByteRange } from '../oci/range.ts';
import { releasingChunks } from '../storage/stream-writer.ts';
import { withBodyDeadline } from './body-reader.ts';
import { paths, type Route } from './paths.ts';
import { bodyOf, declaredLength, type Exchange } from './request.ts';
import { baseHeaders, empty } from './responses.ts';

type UploadsRoute = Extract<Route, { kind: 'uploads' }>;
type UploadRoute = Extract<Route, { kind: 'upload' }>;

/** POST /v2/<name>/blobs/uploads/: starts a session (202), or completes a monolithic upload or mount (201). */
export async function postUpload(x: Exchange<UploadsRoute>, name: string): Promise<Response> {
  const q = x.query;
  const digest = optionalDigest(q.get('digest'));
  const mount = optionalDigest(q.get('mount'));
  const fromParam = q.get('from');
  const from = fromParam === null ? undefined : parseRepositoryName(fromParam);
  const algorithmParam = q.get('digest-algorithm');
  if (algorithmParam !== null && !isDigestAlgorithm(algorithmParam)) {
    throw new RegistryError('DIGEST_INVALID', `unsupported digest-algorithm ${algorithmParam.slice(0, 40)}`);
  }
  const body = uploadBody(x);
  const result = await startUpload(x.core, name, {
    digest,
    mount,
    from,
    algorithm: algorithmParam ?? undefined,
    body,
    length: body ? declaredLength(x.request) : undefined,
    canMountFrom: (source) => x.mayPull(source),
  });
  if (result.kind === 'created') return created(name, result.blob.digest);
  const headers = sessionHeaders(name, result);
  headers.set('OCI-Chunk-Min-Length', String(x.http.chunkMinLength));
  return empty(202, headers);
}

/** PATCH: appends a chunk (with Content-Range) or a stream (without). */
export async function patchUpload(x: Exchange<UploadRoute>, name: string): Promise<Response> {
  const body = uploadBody(x) ?? new Uint8Array(0);
  const state = await appendUpload(x.core, name, x.route.id, body, {
    range: contentRange(x.request),
    length: declaredLength(x.request),
  });
  return empty(202, sessionHeaders(name, state));
}

/** PUT ?digest=: appends an optional last chunk and commits the blob (201). */
export async function putUpload(x: Exchange<UploadRoute>, name: string): Promise<Response> {
  const digestParam = x.query.get('digest');
  if (digestParam === null) throw new RegistryError('DIGEST_INVALID', 'the digest query parameter is required to finish an upload');
  const digest = parseDigest(digestParam);
  const body = uploadBody(x);
  const blob = await finishUpload(x.core, name, x.route.id, digest, {
    body,
    range: contentRange(x.request),
    length: body ? declaredLength(x.request) : undefined,
  });
  return created(name, blob.digest);
}

/** GET: where the upload stands (204 + Range). */
export async function getUpload(x: Exchange<UploadRoute>, name: string): Promise<Response> {
  return empty(204, sessionHeaders(name, await uploadStatus(x.core, name, x.route.id)));
}

/** DELETE: cancels the upload (204). */
export async function deleteUpload(x: Exchange<UploadRoute>, name: string): Promise<Response> {
  await cancelUpload(x.core, name, x.route.id);
  return empty(204);
}

function created(name: string, digest: Digest): Response {
  return empty(201, baseHeaders({ Location: paths.blob(name, digest), 'Docker-Content-Digest': digest }));
}

function sessionHeaders(name: string, state: UploadState): Headers {
  return baseHeaders({
    Location: paths.upload(name, state.id),
    // The spec's inclusive range of bytes received; "0-0" also stands for an empty upload, as other registries send.
    Range: `0-${Math.max(state.size - 1, 0)}`,
    'Docker-Upload-UUID': state.id,
  });
}

/** The request body with the deadlines every upload body gets. */
function uploadBody(x: Exchange): ReadableStream<Uint8Array> | undefined {
  const body = bodyOf(x.request);
  if (!body) return undefined;
  const bounded = withBodyDeadline(body, { idleMs: x.http.bodyIdleTimeoutMs, minBytesPerSecond: x.http.minBodyRate });
  return x.http.releaseBodyChunks ? releasingChunks(bounded) : bounded;
}

function optionalDigest(value: string | null): Digest | undefined {
  return value === null ? undefined : parseDigest(value);
}

function contentRange(request: Request): ByteRange | undefined {
  const header = request.headers.get('content-range');
  if (header === null) return undefined;
  const range = parseContentRange(header);
  if (!range) throw new RegistryError('BLOB_UPLOAD_INVALID', `invalid Content-Range: ${header.slice(0, 60)}`, { status: 416 });
  return range;
}
