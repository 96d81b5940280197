/**
 * The test balancer itself (test/support/balancer.ts), against small Bun servers standing for nodes: the tests of
 * several nodes mean something only if it really spreads requests and passes them on unchanged.
 */
import { afterEach, describe, expect, test } from 'bun:test';
import { startBalancer, type Balancer } from '../support/balancer.ts';

/** A node that echoes what it received and names itself. */
function echoNode(name: string) {
  return Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const body = new Uint8Array(await request.arrayBuffer());
      const headers: Record<string, string> = { 'x-node': name, 'x-got-bytes': String(body.byteLength), 'x-got-custom': request.headers.get('x-custom') ?? '' };
      if (url.pathname === '/absolute') headers.location = `http://127.0.0.1:${url.port}/next?x=1`;
      if (url.pathname === '/relative') headers.location = '/v2/a/blobs/uploads/1';
      return new Response(url.pathname === '/big' ? new Uint8Array(10 * 1024 * 1024) : `${request.method} ${url.pathname}${url.search}`, { status: 202, headers });
    },
  });
}

describe('the round-robin test balancer', () => {
  const servers: ReturnType<typeof echoNode>[] = [];
  let balancer: Balancer | undefined;
  afterEach(async () => {
    await balancer?.stop();
    for (const s of servers.splice(0)) s.stop(true);
  });
  const start = (count: number) => {
    for (let i = 0; i < count; i++) servers.push(echoNode(`n${i}`));
    balancer = startBalancer(servers.map((s) => ({ url: `http://127.0.0.1:${s.port}` })));
    return balancer;
  };

  test('sends each request to the next node, with method, path, query, headers and body unchanged', async () => {
    const b = start(3);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${b.url}/v2/x/y?n=${i}`, { method: 'PATCH', body: new Uint8Array(1000 + i), headers: { 'x-custom': 'kept' } });
      expect(res.status).toBe(202);
      expect(await res.text()).toBe(`PATCH /v2/x/y?n=${i}`);
      expect(res.headers.get('x-got-bytes')).toBe(String(1000 + i));
      expect(res.headers.get('x-got-custom')).toBe('kept');
      expect(res.headers.get('x-balancer-node')).toBe(res.headers.get('x-node')!.slice(1));
      seen.push(res.headers.get('x-node')!);
    }
    expect(seen).toEqual(['n0', 'n1', 'n2', 'n0', 'n1', 'n2']);
  });

  test('turns a Location naming a node into the balancer, and leaves relative ones alone', async () => {
    const b = start(1);
    expect((await fetch(`${b.url}/absolute`, { redirect: 'manual' })).headers.get('location')).toBe(`${b.url}/next?x=1`);
    expect((await fetch(`${b.url}/relative`, { redirect: 'manual' })).headers.get('location')).toBe('/v2/a/blobs/uploads/1');
  });

  test('keeps Content-Length of bodies up to 8 MiB and streams larger ones whole', async () => {
    const b = start(1);
    const small = await fetch(`${b.url}/small`);
    expect(small.headers.get('content-length')).toBe(String('GET /small'.length));
    const big = await fetch(`${b.url}/big`);
    expect((await big.arrayBuffer()).byteLength).toBe(10 * 1024 * 1024);
  });

  test('skips a node marked down, and a node that refuses is marked down with its bodiless request sent on', async () => {
    const b = start(3);
    b.down(1);
    const names = [];
    for (let i = 0; i < 4; i++) names.push((await fetch(`${b.url}/`)).headers.get('x-node'));
    expect(names).toEqual(['n0', 'n2', 'n0', 'n2']);
    b.up(1);
    servers[1]!.stop(true);
    const after = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${b.url}/`);
      expect(res.status).toBe(202);
      after.push(res.headers.get('x-node'));
    }
    expect(after).not.toContain('n1');
    // A request with a body is not replayed elsewhere: its node may have read part of it.
    b.up(1);
    let status = 0;
    for (let i = 0; i < 3 && status !== 502; i++) status = (await fetch(`${b.url}/`, { method: 'PUT', body: 'x' })).status;
    expect(status).toBe(502);
  });
});
