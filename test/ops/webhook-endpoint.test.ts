/** One webhook endpoint's queue and delivery loop, against receivers served on 127.0.0.1 by the test. */
import { afterAll, describe, expect, test } from 'bun:test';
import { createLogger } from '../../src/logger.ts';
import type { NotificationEvent } from '../../src/ops/envelope.ts';
import { WebhookEndpoint, type EndpointSettings } from '../../src/ops/webhook-endpoint.ts';

const servers: { stop(force: boolean): unknown }[] = [];
afterAll(() => {
  for (const s of servers) s.stop(true);
});

function receiver(answer: (events: NotificationEvent[]) => number): { url: string; posts: NotificationEvent[][] } {
  const posts: NotificationEvent[][] = [];
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: async (request) => {
      const { events } = (await request.json()) as { events: NotificationEvent[] };
      posts.push(events);
      return new Response(null, { status: answer(events) });
    },
  });
  servers.push(server);
  return { url: `http://127.0.0.1:${server.port}/`, posts };
}

function event(n: number): NotificationEvent {
  return {
    id: `e${n}`,
    timestamp: new Date().toISOString(),
    action: 'push',
    target: { mediaType: 'x', size: n, length: n, digest: `sha256:${n}`, repository: 'r', kind: 'blob' },
    source: { addr: 'a', instanceID: 'i' },
  };
}

function settings(url: string, extra: Partial<EndpointSettings> = {}): EndpointSettings {
  return { name: 't', url, headers: {}, timeoutMs: 2000, queueSize: 1000, maxBatch: 50, backoffMs: 20, maxBackoffMs: 100, retryForSeconds: 60, ...extra };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await Bun.sleep(10);
  }
}

describe('webhook endpoint', () => {
  test('sends queued events in order, in batches of at most maxBatch', async () => {
    const r = receiver(() => 200);
    const endpoint = new WebhookEndpoint(settings(r.url), createLogger('silent'));
    for (let i = 0; i < 120; i++) expect(endpoint.publish(event(i))).toBe(true);
    await until(() => endpoint.stats.delivered === 120);
    expect(r.posts.every((p) => p.length <= 50)).toBe(true);
    expect(r.posts.flat().map((e) => e.id)).toEqual(Array.from({ length: 120 }, (_, i) => `e${i}`));
    expect(endpoint.length).toBe(0);
    endpoint.stop();
  });

  test('retries a failing receiver with backoff, then drops events older than retryForSeconds and logs it', async () => {
    const r = receiver(() => 500);
    const lines: string[] = [];
    const endpoint = new WebhookEndpoint(settings(r.url, { retryForSeconds: 1 }), createLogger('warn', 'json', (l) => lines.push(l)));
    endpoint.publish(event(1));
    endpoint.publish(event(2));
    await until(() => endpoint.stats.expired === 2, 5000);
    expect(endpoint.length).toBe(0);
    expect(endpoint.stats.delivered).toBe(0);
    // Backoff: 20, 40, 80, 100, 100 ... ms within one second: far fewer attempts than a busy loop would make.
    expect(r.posts.length).toBeGreaterThan(2);
    expect(r.posts.length).toBeLessThan(40);
    expect(lines.some((l) => JSON.parse(l).msg === 'webhook delivery gave up; events dropped')).toBe(true);
    endpoint.stop();
  });

  test('answers publish in constant time while the receiver hangs, dropping past queueSize', async () => {
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Promise<Response>(() => {}) });
    servers.push(server);
    const endpoint = new WebhookEndpoint(settings(`http://127.0.0.1:${server.port}/`, { queueSize: 100, timeoutMs: 60_000 }), createLogger('silent'));
    const t = performance.now();
    for (let i = 0; i < 10_000; i++) endpoint.publish(event(i));
    expect(performance.now() - t).toBeLessThan(200);
    expect(endpoint.length).toBe(100);
    expect(endpoint.stats.dropped).toBe(9_900);
    endpoint.stop();
  });
});
