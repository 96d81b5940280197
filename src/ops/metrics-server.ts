/** The optional second listener (`metricsAddr`): `/metrics`, `/healthz` and `/readyz` only, off the registry's port. */
import type { Server } from 'bun';
import type { Logger } from '../logger.ts';
import type { Ops } from './ops.ts';

/** Listens on `host:port` (IPv6 as `[::1]:9090`); logs the address it got. */
export function listenMetrics(address: string, ops: Ops, logger: Logger): Server<undefined> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  const server = Bun.serve({
    hostname: host,
    port,
    fetch: (request) => ops.route(request, true) ?? new Response('not found\n', { status: 404 }),
  });
  logger.info(`metrics served on http://${address.slice(0, colon)}:${server.port}/metrics`, { metricsAddress: `${server.hostname}:${server.port}` });
  return server;
}
