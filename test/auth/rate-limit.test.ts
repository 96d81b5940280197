/** Rate limits: a token bucket per user or client address, 429 TOOMANYREQUESTS with Retry-After, and recovery. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { rememberClientAddress } from '../../src/auth/client-address.ts';
import { rateLimited, TokenBuckets } from '../../src/auth/rate-limit.ts';
import { expectError } from '../helpers/client.ts';
import type { ServerProcess } from '../helpers/server.ts';
import { authTempDir, basic, basicOf, startWithAuth, writeUsers } from './support.ts';

let dir: string;
beforeAll(() => {
  dir = authTempDir();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Sends `count` GETs one after another (a bounded burst) and returns their statuses and Retry-After values. */
async function burst(url: string, count: number, headers: Record<string, string> = {}): Promise<{ status: number; retryAfter: string | null; code?: string }[]> {
  const out = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(url, { headers });
    const body = res.status === 429 ? ((await res.json()) as { errors: { code: string }[] }) : (await res.arrayBuffer(), undefined);
    out.push({ status: res.status, retryAfter: res.headers.get('retry-after'), code: body?.errors[0]?.code });
  }
  return out;
}

describe('token buckets', () => {
  test('grant the burst, then refill at the rate', () => {
    const buckets = new TokenBuckets({ perSecond: 2, burst: 3 });
    expect([0, 1, 2].map(() => buckets.take('a', 0))).toEqual([0, 0, 0]);
    expect(buckets.take('a', 0)).toBe(1);
    expect(buckets.take('b', 0)).toBe(0); // another caller has its own bucket
    expect(buckets.take('a', 500)).toBe(0); // half a second refills one token at 2/s
    expect(buckets.take('a', 500)).toBe(1);
    expect(buckets.peek('a', 500)).toBe(1); // looking takes nothing
    expect(buckets.peek('a', 1000)).toBe(0);
    expect(buckets.take('a', 1000)).toBe(0);
  });

  test('forget the least recently seen caller when full, so memory stays bounded', () => {
    const buckets = new TokenBuckets({ perSecond: 1, burst: 1 }, 2);
    buckets.take('a', 0);
    buckets.take('b', 0);
    buckets.take('c', 0); // evicts a
    expect(buckets.take('a', 0)).toBe(0);
  });
});

describe('client addresses', () => {
  const from = (address: string) => {
    const request = new Request('http://registry.test/v2/');
    rememberClientAddress(request, address);
    return request;
  };
  const statusOf = async (authorize: ReturnType<typeof rateLimited>, address: string) => {
    try {
      await authorize({ request: from(address), repository: null, action: 'pull' });
      return 200;
    } catch (error) {
      return (error as { status: number }).status;
    }
  };

  test('IPv6 callers share one budget per /64, since anyone holding a /64 can send from any of its addresses', async () => {
    const authorize = rateLimited(undefined, { requests: { perSecond: 0.01, burst: 2 } });
    const network = ['2001:db8:1:2::1', '2001:db8:1:2:0:0:0:2', '2001:db8:1:2:ffff:1:2:3', '2001:0db8:0001:0002::9'];
    expect(await Promise.all(network.map((a) => statusOf(authorize, a)))).toEqual([200, 200, 429, 429]);
    expect(await statusOf(authorize, '2001:db8:1:3::1')).toBe(200); // the next /64 is someone else
    expect(await statusOf(authorize, '::ffff:192.0.2.1')).toBe(200); // IPv4 (mapped) addresses stay whole
    expect(await statusOf(authorize, '::ffff:192.0.2.2')).toBe(200);
    expect(await statusOf(authorize, '::ffff:192.0.2.1')).toBe(200);
    expect(await statusOf(authorize, '::ffff:192.0.2.1')).toBe(429);
  });
});

describe('marina serve --rate-limit', () => {
  let server: ServerProcess;
  afterAll(() => server?.stop());

  test('answers a burst beyond the budget with 429 TOOMANYREQUESTS and Retry-After, then recovers', async () => {
    server = await startWithAuth(dir, ['--rate-limit', '2', '--rate-burst', '4']);
    const answers = await burst(`${server.url}/v2/`, 8);
    expect(answers.slice(0, 4).map((a) => a.status)).toEqual([200, 200, 200, 200]);
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(3);
    for (const a of limited) {
      expect(a.code).toBe('TOOMANYREQUESTS');
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    await Bun.sleep(Number(limited[0]!.retryAfter) * 1000 + 100);
    expect((await fetch(`${server.url}/v2/`)).status).toBe(200);
  });
});

describe('per-user budgets', () => {
  let server: ServerProcess;
  afterAll(() => server?.stop());

  test('one user exhausting the budget does not limit another user from the same address', async () => {
    server = await startWithAuth(dir, ['--auth', 'basic', '--htpasswd', await writeUsers(dir), '--rate-limit', '0.5', '--rate-burst', '3']);
    const alice = await burst(`${server.url}/v2/`, 5, { authorization: basicOf('alice') });
    expect(alice.map((a) => a.status)).toEqual([200, 200, 200, 429, 429]);
    const bob = await burst(`${server.url}/v2/`, 3, { authorization: basicOf('bob') });
    expect(bob.map((a) => a.status)).toEqual([200, 200, 200]);
  });
});

describe('password guessing on /v2/', () => {
  let server: ServerProcess;
  afterAll(() => server?.stop());

  test('an address over its budget gets 429 even for the right password, so guesses cannot tell it apart', async () => {
    for (const mode of ['basic', 'token']) {
      server = await startWithAuth(dir, ['--auth', mode, '--htpasswd', await writeUsers(dir), '--rate-limit', '0.1', '--rate-burst', '3']);
      const guesses = await burst(`${server.url}/v2/`, 4, { authorization: basic('alice', 'guess') });
      expect(guesses.map((g) => g.status)).toEqual([401, 401, 401, 429]);
      const right = await burst(`${server.url}/v2/`, 1, { authorization: basicOf('alice') });
      expect(right.map((g) => [g.status, g.code])).toEqual([[429, 'TOOMANYREQUESTS']]);
      await server.stop();
    }
  });

  test('anonymous requests from an address do not lock out a user who logs in from it (a shared NAT)', async () => {
    server = await startWithAuth(dir, ['--auth', 'basic', '--htpasswd', await writeUsers(dir), '--rate-limit', '0.1', '--rate-burst', '3']);
    const anonymous = await burst(`${server.url}/v2/`, 4);
    expect(anonymous.map((g) => g.status)).toEqual([401, 401, 401, 429]);
    const alice = await burst(`${server.url}/v2/`, 2, { authorization: basicOf('alice') });
    expect(alice.map((g) => g.status)).toEqual([200, 200]);
  });
});

describe('the token endpoint', () => {
  let server: ServerProcess;
  afterAll(() => server?.stop());

  test('spends the caller address budget, so password guessing through /token is limited too', async () => {
    server = await startWithAuth(dir, ['--htpasswd', await writeUsers(dir), '--rate-limit', '0.2', '--rate-burst', '3']);
    const guesses = await burst(`${server.url}/token?service=marina&scope=repository:a/b:pull`, 5, { authorization: basic('alice', 'guess') });
    expect(guesses.map((g) => g.status)).toEqual([401, 401, 401, 429, 429]);
    expect(guesses[3]!.code).toBe('TOOMANYREQUESTS');
    expect(Number(guesses[3]!.retryAfter)).toBeGreaterThanOrEqual(1);
    // The failed logins at /token count at /v2/ too: no fresh budget of guesses there.
    const right = await burst(`${server.url}/v2/`, 1, { authorization: basicOf('alice') });
    expect(right.map((g) => g.status)).toEqual([429]);
  });
});

describe('the mirror budget', () => {
  let server: ServerProcess;
  let upstream: ReturnType<typeof Bun.serve>;
  afterAll(async () => {
    await server?.stop();
    upstream?.stop(true);
  });

  test('requests to mirrored repositories have their own, smaller budget; local ones go on', async () => {
    let seen = 0;
    upstream = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: () => {
        seen++;
        return Response.json({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'no' }] }, { status: 404 });
      },
    });
    server = await startWithAuth(dir, ['--mirror', `up=http://127.0.0.1:${upstream.port}`, '--rate-limit', '100', '--mirror-rate-limit', '0.2', '--mirror-rate-burst', '2']);
    const mirrored = await burst(`${server.url}/v2/up/some/image/manifests/latest`, 5);
    expect(mirrored.map((a) => a.status === 429)).toEqual([false, false, true, true, true]);
    await expectError(await fetch(`${server.url}/v2/up/some/image/manifests/latest`), 429, 'TOOMANYREQUESTS');
    const upstreamCalls = seen;
    expect(upstreamCalls).toBeLessThanOrEqual(4); // only the admitted requests reached the upstream
    // Plain names route to the default upstream here, so the local side is the catalog and the base.
    const local = [...(await burst(`${server.url}/v2/`, 3)), ...(await burst(`${server.url}/v2/_catalog`, 3))];
    expect(local.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
  });
});
