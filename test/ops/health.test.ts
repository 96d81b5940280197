/** `/healthz`, `/readyz` and the separate metrics address, on real `marina serve` processes. */
import { afterAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import { freePort } from '../support/process.ts';
import { until } from '../mirror/support/harness.ts';

const servers: ServerProcess[] = [];
const dirs: string[] = [];

async function serve(args: string[] = [], env: Record<string, string> = {}): Promise<ServerProcess> {
  const dir = tempDir('marina-health-');
  dirs.push(dir);
  const server = await startServer(dir, args, env);
  servers.push(server);
  return server;
}

afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('health endpoints', () => {
  test('/healthz answers 200 with a JSON status while the process runs', async () => {
    const server = await serve();
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  test('/readyz answers 200 with the data directory and index checks passing', async () => {
    const server = await serve();
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean; ms: number }> };
    expect(body.status).toBe('ready');
    expect(body.checks.data!.ok).toBe(true);
    expect(body.checks.index!.ok).toBe(true);
    expect(Object.keys(body.checks).sort()).toEqual(['data', 'index']);
  });

  test('/readyz answers 503 naming the upstream when a mirror upstream is unreachable and upstream checks are on', async () => {
    const dead = await freePort();
    const server = await serve(['--mirror', `dead=http://127.0.0.1:${dead}`], { MARINA_READYZ_UPSTREAMS: 'true' });
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> };
    expect(body.status).toBe('unready');
    expect(body.checks['upstream:dead']!.ok).toBe(false);
    // Why is logged, not told: /readyz is open to anyone, and the error would name the upstream's address.
    expect(JSON.stringify(body)).not.toContain(String(dead));
    expect(body.checks.data!.ok).toBe(true);
    await until(() => server.stderr().includes('readiness check failed'), 5000);
    expect(server.stderr()).toContain('upstream:dead');
  });

  test('/readyz ignores upstreams unless asked to probe them', async () => {
    const dead = await freePort();
    const server = await serve(['--mirror', `dead=http://127.0.0.1:${dead}`]);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  test('--metrics-addr moves /metrics to its own listener and off the registry port', async () => {
    const port = await freePort();
    const server = await serve(['--metrics-addr', `127.0.0.1:${port}`]);
    await (await fetch(`${server.url}/v2/`)).arrayBuffer();
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('marina_http_request_duration_seconds_count{route="base",method="GET",status="200"} 1');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/v2/`)).status).toBe(404);
  });
});
