/**
 * The registry's request handler: match the route, check method, name and authorization, run the handler,
 * and map any error to the spec's error response. Plain `Request → Response`, shared by the Elysia plugin and
 * `registry.fetch`.
 */
import type { CoreContext } from '../core/context.ts';
import { isRegistryError, RegistryError, storageFailure } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { parseRepositoryName } from '../oci/names.ts';
import { actingAs } from '../core/actor.ts';
import { enforce, permits, type AuthAction, type Authorize, type Identity } from './auth.ts';
import { getBlob, removeBlob } from './blob-handlers.ts';
import { getBase, getCatalog, getReferrers, getTags } from './listing-handlers.ts';
import { deleteManifestResponse, getManifestResponse, putManifestResponse } from './manifest-handlers.ts';
import type { Mirror } from '../mirror/mirror.ts';
import { mirrorRead } from './mirror-handlers.ts';
import { assertTargetLength, matchRoute, splitUrl, type Route } from './paths.ts';
import { conditionalResponse } from './representations.ts';
import { assertNotCrossSite } from './cross-site.ts';
import type { Exchange, HttpSettings } from './request.ts';
import { errorResponse } from './responses.ts';
import { deleteUpload, getUpload, patchUpload, postUpload, putUpload } from './upload-handlers.ts';

type Handler = (x: Exchange<any>, name: string) => Response | Promise<Response>;

// One table: which methods each endpoint answers. HEAD is answered wherever GET is.
const HANDLERS: { [K in Route['kind']]: Partial<Record<string, Handler>> } = {
  base: { GET: getBase },
  catalog: { GET: getCatalog },
  tags: { GET: getTags },
  manifest: { GET: getManifestResponse, PUT: putManifestResponse, DELETE: deleteManifestResponse },
  blob: { GET: getBlob, DELETE: removeBlob },
  uploads: { POST: postUpload },
  upload: { GET: getUpload, PATCH: patchUpload, PUT: putUpload, DELETE: deleteUpload },
  referrers: { GET: getReferrers },
};

// Shared by requests without a query string; handlers only read it.
const EMPTY_QUERY: URLSearchParams = new URLSearchParams();

// Endpoints a mirror answers from its cache or upstream; the rest (uploads, deletes) act on the local store.
const MIRRORED_READS: ReadonlySet<Route['kind']> = new Set(['manifest', 'blob', 'tags', 'referrers']);

const ACTION: Record<string, AuthAction> = { GET: 'pull', HEAD: 'pull', POST: 'push', PUT: 'push', PATCH: 'push', DELETE: 'delete' };

/** Everything the handler needs. */
export interface DispatchOptions {
  core: CoreContext;
  http: HttpSettings;
  logger: Logger;
  authorize?: Authorize;
  /** The pull-through mirror, when configured. */
  mirror?: Mirror;
  /** Sees every request and its response (metrics, access logs, request ids). */
  observer?: RequestObserver;
}

/** What an observer learns about one request; filled in as the request is handled. */
export interface RequestRecord {
  /** The request handled; `begin` may replace it with one whose body it measures. */
  request: Request;
  method: string;
  /** The path as received (not decoded). */
  path: string;
  /** The endpoint matched, or 'none' (bounded: safe as a metric label). */
  route: Route['kind'] | 'none';
  /** `performance.now()` when the request arrived. */
  started: number;
  /** Request id (set by the observer's `begin`). */
  id?: string;
  /** Who made the request: the subject of the identity the authorization hook returned. */
  user?: string;
  /** The unexpected error behind a 500, if any. */
  error?: unknown;
  /** Body bytes received so far, when the observer measures a body sent without Content-Length (chunked). */
  received?: number;
  /** The client's address, when the observer looked it up. */
  client?: string;
}

/** Hooks around every request; `end` may add response headers. Both run on the hot path: keep them cheap. */
export interface RequestObserver {
  begin(record: RequestRecord): void;
  end(record: RequestRecord, response: Response): void;
}

/** Builds the `Request → Response` handler of a registry. */
export function createDispatcher(options: DispatchOptions): (request: Request) => Promise<Response> {
  const { core, http, logger, authorize, mirror, observer } = options;
  return async function dispatch(request: Request): Promise<Response> {
    const started = observer || logger.enabled('debug') ? performance.now() : 0;
    const method = request.method;
    const { pathname, search } = splitUrl(request.url);
    const record: RequestRecord | undefined = observer ? { request, method, path: pathname, route: 'none', started } : undefined;
    if (record) observer!.begin(record);
    let response: Response;
    const caller: { identity?: Identity } = {};
    try {
      response = conditionalResponse(request, await handle(record ? record.request : request, method, pathname, search, caller, record));
    } catch (error) {
      const storage = isRegistryError(error) ? undefined : storageFailure(error);
      if (storage) logger.warn(storage.message, { method, path: pathname, id: record?.id, status: storage.status, cause: describeCause(error) });
      else if (!isRegistryError(error)) logger.error('request failed', { method, path: pathname, id: record?.id, error });
      if (record && !isRegistryError(error)) record.error = error;
      response = errorResponse(error, method);
      // A body refused as too large (413) or cut as stalled (408) is left unread: close rather than drain it.
      if (response.status === 413 || response.status === 408) response.headers.set('Connection', 'close');
    }
    if (record) {
      record.user = caller.identity?.subject;
      observer!.end(record, response);
    } else if (started) {
      logger.debug('request', { method, path: pathname, status: response.status, user: caller.identity?.subject, ms: +(performance.now() - started).toFixed(2) });
    }
    return response;
  };

  async function handle(request: Request, method: string, pathname: string, search: string, caller: { identity?: Identity }, record?: RequestRecord): Promise<Response> {
    assertTargetLength(pathname, search);
    const route = matchRoute(pathname);
    if (!route) throw new RegistryError('UNSUPPORTED', `no such endpoint: ${pathname.slice(0, 200)}`, { status: 404 });
    if (record) record.route = route.kind;
    const handlers = HANDLERS[route.kind];
    const handler = handlers[method === 'HEAD' ? 'GET' : method];
    if (!handler) {
      const allow = Object.keys(handlers).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])).join(', ');
      throw new RegistryError('UNSUPPORTED', `method ${method} is not allowed here`, { headers: { Allow: allow } });
    }
    assertNotCrossSite(request, method);
    // An upload's own DELETE (cancel) is part of pushing, not a delete of content.
    const action: AuthAction = route.kind === 'upload' ? 'push' : route.kind === 'catalog' ? 'catalog' : ACTION[method] ?? 'pull';
    let name = 'name' in route ? parseRepositoryName(route.name) : null;
    const query = search ? new URLSearchParams(search) : EMPTY_QUERY;
    const exchange: Exchange = {
      request,
      method,
      route,
      query,
      core,
      http,
      mayPull: (repository) => permits(authorize, { request, repository, action: 'pull', indirect: 'mount' }),
      mayList: authorize && ((repository) => permits(authorize, { request, repository, action: 'pull', indirect: 'listing' })),
    };
    const target = mirror && name !== null ? await mirror.route(name, query.get('ns'), action !== 'pull') : undefined;
    if (mirror && target) {
      if (authorize) caller.identity = exchange.identity = await enforce(authorize, { request, repository: target.local, action, mirrored: true });
      const read = method === 'GET' || method === 'HEAD';
      if (read && (route.kind === 'manifest' || route.kind === 'blob')) exchange.through = mirror.source(target);
      else if (read && MIRRORED_READS.has(route.kind)) return actingAs(exchange.identity, () => mirrorRead(exchange, mirror, target));
      else mirror.assertWritable(target);
      name = target.local;
    } else if (authorize) {
      caller.identity = exchange.identity = await enforce(authorize, { request, repository: name, action });
    }
    // Events emitted while handling name the caller as their actor.
    const response = await actingAs(exchange.identity, () => handler(exchange, name ?? ''));
    if (method !== 'HEAD' || response.body === null) return response;
    // Generic HEAD: the GET's headers (Content-Length included) without its body.
    return new Response(null, { status: response.status, headers: response.headers });
  }
}

/** The failure's own message and its causes', without stack traces (a full disk is an operating condition). */
function describeCause(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  return parts.join(': ');
}
