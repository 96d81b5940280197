/**
 * `/metrics` behind access control: it tells about the whole registry, so it asks the permission `/v2/_catalog`
 * asks (`catalog`). Health endpoints are never guarded: load balancers and orchestrators probe them anonymously.
 */
import { enforce, type Authorize } from '../http/auth.ts';
import { errorResponse } from '../http/responses.ts';

/** A guard answering undefined when the caller may list the catalog, else the 401 (with challenge) or 403 response. */
export function catalogGuard(authorize: Authorize): (request: Request) => Promise<Response | undefined> {
  return async (request) => {
    try {
      await enforce(authorize, { request, repository: null, action: 'catalog' });
      return undefined;
    } catch (error) {
      return errorResponse(error, request.method);
    }
  };
}
