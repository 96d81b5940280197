/** Operations endpoints and access logs on a `marina serve` process with access control (Basic, access rules). */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { randomBytes } from '../helpers/client.ts';
import type { ServerProcess } from '../helpers/server.ts';
import { PASSWORDS, RULES_TOML, authTempDir, basic, basicOf, clientFor, startWithAuth, writeRules, writeUsers } from '../auth/support.ts';

let server: ServerProcess;
const dir = authTempDir();

beforeAll(async () => {
  // dave has a password but no rule: authenticated, allowed nothing.
  const users = await writeUsers(dir, { ...PASSWORDS, dave: 'dave-secret-4' });
  server = await startWithAuth(dir, ['--auth', 'basic', '--htpasswd', users, '--access', writeRules(dir), '--access-log', '--log-format', 'json']);
});

afterAll(async () => {
  await server?.stop('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('operations with access control on', () => {
  test('/metrics asks for the catalog permission: 401 anonymous, 403 without it, 200 with it', async () => {
    const anonymous = await fetch(`${server.url}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toStartWith('Basic');
    await anonymous.arrayBuffer();
    const dave = await fetch(`${server.url}/metrics`, { headers: { authorization: basic('dave', 'dave-secret-4') } });
    expect(dave.status).toBe(403);
    await dave.arrayBuffer();
    const carol = await fetch(`${server.url}/metrics`, { headers: { authorization: basicOf('carol') } });
    expect(carol.status).toBe(200);
    expect(await carol.text()).toContain('# TYPE marina_http_request_duration_seconds histogram');
  });

  test('/healthz and /readyz stay open for probes', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  test('access log lines name the authenticated user, and none for anonymous requests', async () => {
    const alice = clientFor(server, basicOf('alice'));
    await alice.pushBlob('team-a/app', randomBytes(64));
    await (await fetch(`${server.url}/v2/team-a/app/tags/list`, { headers: { 'x-request-id': 'anon-1' } })).arrayBuffer();
    const deadline = Date.now() + 3000;
    const lines = () =>
      server
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .filter((e) => e.msg === 'request');
    while (!lines().some((e) => e.id === 'anon-1') && Date.now() < deadline) await Bun.sleep(20);
    const push = lines().find((e) => e.method === 'POST' && e.path.startsWith('/v2/team-a/app/blobs/uploads'));
    expect(push).toMatchObject({ user: 'alice', status: 201, client: '127.0.0.1' });
    const anon = lines().find((e) => e.id === 'anon-1');
    expect(anon!.status).toBe(401);
    expect(anon!.user).toBeUndefined();
  });
});

describe('SIGHUP with access control on', () => {
  test('re-reads the access rules and htpasswd files; a broken rules file is refused and the running rules stay', async () => {
    const d = authTempDir();
    try {
      const users = await writeUsers(d);
      const rules = writeRules(d);
      const s = await startWithAuth(d, ['--auth', 'basic', '--htpasswd', users, '--access', rules, '--log-format', 'json']);
      try {
        const logged = async (msg: string, count = 1) => {
          const deadline = Date.now() + 5000;
          for (;;) {
            const n = s.stderr().split('\n').filter((l) => l.startsWith('{') && JSON.parse(l).msg === msg).length;
            if (n >= count) return;
            if (Date.now() > deadline) throw new Error(`no "${msg}" x${count}:\n${s.stderr()}`);
            await Bun.sleep(20);
          }
        };
        const carolMetrics = async () => {
          const res = await fetch(`${s.url}/metrics`, { headers: { authorization: basicOf('carol') } });
          await res.arrayBuffer();
          return res.status;
        };
        const erinPush = async () => {
          const res = await fetch(`${s.url}/v2/team-a/app/blobs/uploads/`, { method: 'POST', headers: { authorization: basic('erin', 'erin-secret-5') } });
          await res.arrayBuffer();
          return res.status;
        };
        expect(await carolMetrics()).toBe(200);
        expect(await erinPush()).toBe(401);

        // New rules: carol loses the catalog permission; a new user erin may push to team-a.
        writeRules(d, `${RULES_TOML.replace('users = ["bob", "carol"]\nrepositories = ["**"]', 'users = ["bob"]\nrepositories = ["**"]')}
[[rules]]
users = ["erin"]
repositories = ["team-a/**"]
actions = ["pull", "push"]
`);
        await writeUsers(d, { ...PASSWORDS, erin: 'erin-secret-5' });
        s.proc.kill('SIGHUP');
        await logged('access control reloaded');
        expect(await carolMetrics()).toBe(403);
        expect(await erinPush()).toBe(202);

        // A rules file that does not parse: refused, and the rules above stay in force.
        writeRules(d, '[[rules]\nbroken');
        s.proc.kill('SIGHUP');
        await logged('configuration reload refused; the running configuration stays');
        expect(await carolMetrics()).toBe(403);
        expect(await erinPush()).toBe(202);
      } finally {
        await s.stop('SIGKILL');
      }
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  }, 30_000);
});
