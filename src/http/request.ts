/** What a handler gets: the request, its parsed URL, the matched route, and the core state. */
import type { CoreContext } from '../core/context.ts';
import type { ReadThrough } from '../core/read-through.ts';
import { RegistryError } from '../errors.ts';
import type { Identity } from './auth.ts';
import type { Route } from './paths.ts';

/** HTTP-only settings. */
export interface HttpSettings {
  /** Advertised as OCI-Chunk-Min-Length on upload POST. */
  chunkMinLength: number;
  /** An upload body silent for this long is cut (408); also the window of `minBodyRate`. */
  bodyIdleTimeoutMs: number;
  /** Fewest bytes per second an upload body must average over each `bodyIdleTimeoutMs` window (408 below). */
  minBodyRate: number;
  /** Upload bodies' chunks belong to the registry alone: free each once written (see RegistryOptions). */
  releaseBodyChunks?: boolean;
}

/** The per-request bundle passed to handlers. */
export interface Exchange<R extends Route = Route> {
  request: Request;
  method: string;
  route: R;
  query: URLSearchParams;
  core: CoreContext;
  http: HttpSettings;
  /** Authorizes pulling from another repository (cross-repository mount). */
  mayPull(repository: string): Promise<boolean>;
  /** With an authorize hook: whether the caller may see a repository in the catalog. */
  mayList?: (repository: string) => Promise<boolean>;
  /** Who made the request, when the authorize hook said. */
  identity?: Identity;
  /** Where reads of a mirrored repository fall back to (its upstream, through the mirror). */
  through?: ReadThrough;
}

/**
 * The value of a query parameter that may appear at most once, null when absent. A repeated `n`, `last` or
 * `artifactType` has no defined meaning, so it is refused rather than resolved by picking one.
 * @throws RegistryError 400 (via `invalid`) when the parameter is repeated
 */
export function singleParam(query: URLSearchParams, name: string, invalid: (name: string, reason: string) => RegistryError): string | null {
  const values = query.getAll(name);
  if (values.length > 1) throw invalid(name, 'must not be repeated');
  return values[0] ?? null;
}

/** The request body as a stream, or undefined when the request declares none. */
export function bodyOf(request: Request): ReadableStream<Uint8Array> | undefined {
  if (request.headers.get('content-length') === '0') return undefined;
  // Not keyed on Content-Length/Transfer-Encoding: a Request built in-process (registry.fetch, app.handle) carries its
  // body with neither header, and Bun.serve already gives a bodyless request a null body.
  return request.body ?? undefined;
}

/** The declared Content-Length, if any. @throws SIZE_INVALID when malformed */
export function declaredLength(request: Request): number | undefined {
  const value = request.headers.get('content-length');
  if (value === null) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new RegistryError('SIZE_INVALID', `invalid Content-Length: ${value.slice(0, 40)}`);
  return Number(value);
}

/**
 * Reads a small body (a manifest) into memory, refusing it past `limit` bytes without reading further.
 * @throws MANIFEST_INVALID with status 413 when too large
 */
export async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  const declared = declaredLength(request);
  const tooLarge = () => new RegistryError('MANIFEST_INVALID', `manifest is larger than ${limit} bytes`, { status: 413, detail: { limit } });
  if (declared !== undefined && declared > limit) throw tooLarge();
  const body = bodyOf(request);
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
