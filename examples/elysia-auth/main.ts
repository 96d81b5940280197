/**
 * An Elysia application that embeds Marina behind its own bearer-token check and adds a route of its own.
 * Run: PORT=5000 TOKENS=ci-token:push,reader:pull bun examples/elysia-auth/main.ts
 */
import { Elysia } from 'elysia';
import { createRegistry, memoryStorage, type AuthAction } from '../../src/index.ts';

// token → the actions it allows, e.g. "ci-token:push" (push implies pull) or "reader:pull".
const grants = new Map<string, AuthAction[]>(
  (process.env.TOKENS ?? 'dev-token:push').split(',').map((entry) => {
    const [token = '', level = 'pull'] = entry.split(':');
    return [token, level === 'pull' ? ['pull'] : ['pull', 'push', 'delete']];
  }),
);

const registry = createRegistry({
  storage: memoryStorage(),
  authorize({ request, action }) {
    const token = request.headers.get('authorization')?.replace(/^Bearer /, '');
    const allowed = token ? grants.get(token) : undefined;
    if (!allowed) return { allow: false, challenge: 'Bearer realm="example"', message: 'a bearer token is required' };
    return allowed.includes(action) ? { allow: true } : { allow: false, message: `token may not ${action}` };
  },
});

const app = new Elysia()
  .use(registry.plugin)
  .get('/healthz', async () => ({ ok: true, repositories: (await registry.listRepositories()).items.length }));

const server = Bun.serve({ hostname: '127.0.0.1', port: Number(process.env.PORT ?? 5000), fetch: app.fetch, maxRequestBodySize: Number.MAX_SAFE_INTEGER });
console.log(`elysia-auth example listening on http://127.0.0.1:${server.port}`);
