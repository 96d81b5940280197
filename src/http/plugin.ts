/**
 * The Elysia plugin: mounts a registry's handler under `/v2`. Bodies are left unparsed so uploads stay streams.
 */
import { Elysia } from 'elysia';

/** Wraps a `Request → Response` registry handler as an Elysia plugin. */
export function registryPlugin(handle: (request: Request) => Promise<Response>, name = 'marina') {
  const route = ({ request }: { request: Request }) => handle(request);
  return new Elysia({ name })
    .all('/v2', route, { parse: 'none' })
    .all('/v2/', route, { parse: 'none' })
    .all('/v2/*', route, { parse: 'none' });
}
