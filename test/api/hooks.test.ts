/** The authorization hook and the event hooks, as seen through HTTP. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createLogger } from '../../src/logger.ts';
import type { AuthRequest } from '../../src/http/auth.ts';
import type { RegistryEvent } from '../../src/core/context.ts';
import { expectError, randomBytes } from '../helpers/client.ts';
import { openRegistry, tempDir, type TestRegistry } from '../helpers/registry.ts';

describe('authorization hook', () => {
  const asked: { method: string; path: string; repository: string | null; action: string }[] = [];
  let t: TestRegistry;

  beforeAll(() => {
    t = openRegistry({
      authorize: ({ request, repository, action }: AuthRequest) => {
        asked.push({ method: request.method, path: new URL(request.url).pathname, repository, action });
        if (request.headers.get('authorization') === 'Bearer admin') return { allow: true };
        if (repository === 'public/repo' && action === 'pull') return { allow: true };
        if (repository === 'locked/repo') return { allow: false, message: 'no entry' };
        return { allow: false, challenge: 'Bearer realm="https://auth.example/token",service="marina"' };
      },
    });
  });
  afterAll(() => t.close());

  const admin = { authorization: 'Bearer admin' };

  test('answers a refusal with a challenge as 401 UNAUTHORIZED with WWW-Authenticate', async () => {
    const res = await t.client.get('/v2/');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="https://auth.example/token",service="marina"');
    await expectError(res, 401, 'UNAUTHORIZED');
  });

  test('answers a HEAD refusal with 401, WWW-Authenticate and no body', async () => {
    const res = await t.client.head('/v2/private/repo/manifests/latest');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer realm=');
    expect(await res.text()).toBe('');
  });

  test('answers a refusal without a challenge as 403 DENIED with the hook message', async () => {
    const error = await expectError(await t.client.get('/v2/locked/repo/tags/list'), 403, 'DENIED');
    expect(error.message).toBe('no entry');
  });

  test('asks with the repository and the action each request needs', async () => {
    asked.length = 0;
    const c = t.client;
    const location = await (async () => {
      const res = await c.send('POST', '/v2/a/repo/blobs/uploads/', { headers: admin });
      return res.headers.get('location')!;
    })();
    await c.send('GET', '/v2/a/repo/tags/list', { headers: admin });
    await c.send('HEAD', '/v2/a/repo/manifests/x', { headers: admin });
    await c.send('DELETE', '/v2/a/repo/manifests/x', { headers: admin });
    await c.send('DELETE', location, { headers: admin });
    await c.send('GET', '/v2/_catalog', { headers: admin });
    expect(asked.map(({ method, repository, action }) => [method, repository, action])).toEqual([
      ['POST', 'a/repo', 'push'],
      ['GET', 'a/repo', 'pull'],
      ['HEAD', 'a/repo', 'pull'],
      ['DELETE', 'a/repo', 'delete'],
      ['DELETE', 'a/repo', 'push'],
      ['GET', null, 'catalog'],
    ]);
  });

  test('lets an allowed pull through', async () => {
    const res = await t.client.get('/v2/public/repo/tags/list');
    expect(res.status).toBe(404); // allowed, but the repository is empty
    await expectError(res, 404, 'NAME_UNKNOWN');
  });

  test('does not mount from a repository the client may not pull; it opens a session instead', async () => {
    const root = tempDir();
    const open = openRegistry({}, root);
    const blob = await open.client.pushBlob('secret/repo', randomBytes(16));
    await open.close({ keepData: true });
    // May push to mine/repo, may not read secret/repo.
    const limited = openRegistry({ authorize: ({ repository }) => ({ allow: repository === 'mine/repo' }) }, root);
    try {
      for (const query of [`?mount=${blob}&from=secret/repo`, `?mount=${blob}`]) {
        const res = await limited.client.send('POST', `/v2/mine/repo/blobs/uploads/${query}`);
        expect({ query, status: res.status }).toEqual({ query, status: 202 });
      }
      expect((await limited.client.head(`/v2/mine/repo/blobs/${blob}`)).status).toBe(404);
    } finally {
      await limited.close();
    }
  });
});

describe('event hooks', () => {
  const events: [string, RegistryEvent][] = [];
  const logged: string[] = [];
  let t: TestRegistry;

  beforeAll(() => {
    t = openRegistry({
      logger: createLogger('error', 'json', (line) => logged.push(line)),
      events: {
        onPush: (e) => void events.push(['push', e]),
        onPull: (e) => void events.push(['pull', e]),
        onDelete: async (e) => {
          events.push(['delete', e]);
          if (e.kind === 'tag') throw new Error('listener failed');
        },
      },
    });
  });
  afterAll(() => t.close());

  test('reports pushes, pulls and deletes of blobs, manifests and tags', async () => {
    const c = t.client;
    const pushed = await c.pushImage('ev/repo', { reference: 'v1' });
    await (await c.get('/v2/ev/repo/manifests/v1')).arrayBuffer();
    await (await c.get(`/v2/ev/repo/blobs/${pushed.layers[0]!.digest}`)).arrayBuffer();
    expect((await c.delete('/v2/ev/repo/manifests/v1')).status).toBe(202);
    expect((await c.delete(`/v2/ev/repo/manifests/${pushed.digest}`)).status).toBe(202);
    const summary = events.map(([name, e]) => `${name} ${e.kind} ${e.repository}`);
    expect(summary).toEqual([
      'push blob ev/repo',
      'push blob ev/repo',
      'push manifest ev/repo',
      'pull manifest ev/repo',
      'pull blob ev/repo',
      'delete tag ev/repo',
      'delete manifest ev/repo',
    ]);
    const manifestPush = events.find(([n, e]) => n === 'push' && e.kind === 'manifest')![1];
    expect(manifestPush).toMatchObject({ reference: 'v1', digest: pushed.digest, size: pushed.bytes.byteLength });
  });

  test('does not let a failing listener change the response, and logs the failure', async () => {
    const pushed = await t.client.pushImage('ev/fail', { reference: 'v1' });
    const res = await t.client.delete('/v2/ev/fail/manifests/v1');
    expect(res.status).toBe(202);
    await Bun.sleep(1);
    expect(logged.some((l) => l.includes('event listener failed') && l.includes('listener failed'))).toBe(true);
    expect((await t.client.head(`/v2/ev/fail/manifests/${pushed.digest}`)).status).toBe(200);
  });

  test('sends no pull event for HEAD', async () => {
    await t.client.pushImage('ev/head', { reference: 'v1' });
    const before = events.length;
    expect((await t.client.head('/v2/ev/head/manifests/v1')).status).toBe(200);
    expect(events.length).toBe(before);
  });
});
