/**
 * The registry's request handler: match the route, check method, name and authorization, run the handler,
 * and map any error to the spec's error response. Plain `Request → Response`, shared by the Elysia plugin and
 * `registry.fetch`.
 */
import type { CoreContext } from '../core/context.ts';
import { isRegistryError, RegistryError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { parseRepositoryName } from '../oci/names.ts';
import { enforce, permits, type AuthAction, type Authorize } from './auth.ts';
import { getBlob, removeBlob } from './blob-handlers.ts';
import { getBase, getCatalog, getReferrers, getTags } from './listing-handlers.ts';
import { deleteManifestResponse, getManifestResponse, putManifestResponse } from './manifest-handlers.ts';
import type { Mirror } from '../mirror/mirror.ts';
import { mirrorRead } from './mirror-handlers.ts';
import { matchRoute, splitUrl, type Route } from './paths.ts';
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
}

/** Builds the `Request → Response` handler of a registry. */
export function createDispatcher(options: DispatchOptions): (request: Request) => Promise<Response> {
  const { core, http, logger, authorize, mirror } = options;
  return async function dispatch(request: Request): Promise<Response> {
    const started = logger.enabled('debug') ? performance.now() : 0;
    const method = request.method;
    const { pathname, search } = splitUrl(request.url);
    let response: Response;
    try {
      response = await handle(request, method, pathname, search);
    } catch (error) {
      if (!isRegistryError(error)) logger.error('request failed', { method, path: pathname, error });
      response = errorResponse(error, method);
    }
    if (started) logger.debug('request', { method, path: pathname, status: response.status, ms: +(performance.now() - started).toFixed(2) });
    return response;
  };

  async function handle(request: Request, method: string, pathname: string, search: string): Promise<Response> {
    const route = matchRoute(pathname);
    if (!route) throw new RegistryError('UNSUPPORTED', `no such endpoint: ${pathname.slice(0, 200)}`, { status: 404 });
    const handlers = HANDLERS[route.kind];
    const handler = handlers[method === 'HEAD' ? 'GET' : method];
    if (!handler) {
      const allow = Object.keys(handlers).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])).join(', ');
      throw new RegistryError('UNSUPPORTED', `method ${method} is not allowed here`, { headers: { Allow: allow } });
    }
    // An upload's own DELETE (cancel) is part of pushing, not a delete of content.
    const action = route.kind === 'upload' ? 'push' : ACTION[method] ?? 'pull';
    let name = 'name' in route ? parseRepositoryName(route.name) : null;
    const query = search ? new URLSearchParams(search) : EMPTY_QUERY;
    const exchange: Exchange = {
      request,
      method,
      route,
      query,
      core,
      http,
      mayPull: (repository) => permits(authorize, { request, repository, action: 'pull' }),
    };
    const target = mirror && name !== null ? mirror.route(name, query.get('ns'), action !== 'pull') : undefined;
    if (mirror && target) {
      if (authorize) await enforce(authorize, { request, repository: target.local, action });
      const read = method === 'GET' || method === 'HEAD';
      if (read && (route.kind === 'manifest' || route.kind === 'blob')) exchange.through = mirror.source(target);
      else if (read && MIRRORED_READS.has(route.kind)) return mirrorRead(exchange, mirror, target);
      else mirror.assertWritable(target);
      name = target.local;
    } else if (authorize) {
      await enforce(authorize, { request, repository: name, action });
    }
    const response = await handler(exchange, name ?? '');
    if (method !== 'HEAD' || response.body === null) return response;
    // Generic HEAD: the GET's headers (Content-Length included) without its body.
    return new Response(null, { status: response.status, headers: response.headers });
  }
}

