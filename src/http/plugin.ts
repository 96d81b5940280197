/**
 * The Elysia plugin: mounts a registry's handler under `/v2`. Bodies are left unparsed so uploads stay streams.
 */
import { Elysia } from 'elysia';

/** Wraps a `Request → Response` registry handler as an Elysia plugin. */
export function registryPlugin(handle: (request: Request) => Promise<Response>, name = 'marina') {
  const route = ({ request }: { request: Request }) => handle(request);
  // Explicit HEAD routes: for a static path with no HEAD handler, Elysia answers HEAD itself and overwrites
  // Content-Length with the length of the (empty) HEAD body, so `HEAD /v2/` would say 0 where GET says 2.
  return new Elysia({ name })
    .all('/v2', route, { parse: 'none' })
    .all('/v2/', route, { parse: 'none' })
    .head('/v2', route, { parse: 'none' })
    .head('/v2/', route, { parse: 'none' })
    .all('/v2/*', route, { parse: 'none' });
}
