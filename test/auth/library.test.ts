/**
 * The providers as a library user wires them: `createRegistry({ authorize: htpasswdAuth(...) })`, in-process.
 * The identity reaches event listeners; htpasswd checks are cached briefly and cost the same for unknown users.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { accessRules, htpasswdAuth, htpasswdUsers, type RegistryEvent } from '../../src/index.ts';
import { expectError, randomBytes } from '../helpers/client.ts';
import { openRegistry, type TestRegistry } from '../helpers/registry.ts';
import { basic } from './support.ts';

async function htpasswdLine(user: string, password: string, cost = 4): Promise<string> {
  return `${user}:${(await Bun.password.hash(password, { algorithm: 'bcrypt', cost })).replace(/^\$2b\$/, '$2y$')}`;
}

describe('htpasswdAuth in createRegistry', () => {
  const pushes: RegistryEvent[] = [];
  let t: TestRegistry;
  beforeAll(async () => {
    const users = htpasswdUsers({ text: [await htpasswdLine('dana', 'dana-pw'), await htpasswdLine('eve', 'eve-pw')].join('\n') });
    const rules = accessRules({ rules: [{ users: ['dana'], repositories: ['dana/**'], actions: ['*'] }, { users: ['eve'], repositories: ['**'], actions: ['pull'] }] });
    t = openRegistry({ authorize: htpasswdAuth({ users, rules }), events: { onPush: (e) => void pushes.push(e) } });
  });
  afterAll(() => t.close());

  test('events carry the identity of the caller who pushed', async () => {
    const dana = { authorization: basic('dana', 'dana-pw') };
    const bytes = randomBytes(16);
    const res = await t.client.send('POST', `/v2/dana/app/blobs/uploads/?digest=${new Bun.CryptoHasher('sha256').update(bytes).digest('hex').replace(/^/, 'sha256:')}`, { body: bytes, headers: dana });
    expect(res.status).toBe(201);
    expect(pushes.at(-1)).toMatchObject({ repository: 'dana/app', kind: 'blob', actor: { subject: 'dana', via: 'basic' } });
  });

  test('a user the rules give only pull is denied a push, and no event fires', async () => {
    const before = pushes.length;
    const res = await t.client.send('POST', '/v2/dana/app/blobs/uploads/', { headers: { authorization: basic('eve', 'eve-pw') } });
    await expectError(res, 403, 'DENIED');
    expect(pushes.length).toBe(before);
  });
});

describe('htpasswd users', () => {
  test('remember a successful check briefly, so the next one skips bcrypt', async () => {
    const users = htpasswdUsers({ text: await htpasswdLine('frank', 'frank-pw', 10) });
    let started = performance.now();
    expect(await users.verify('frank', 'frank-pw')).toBe(true);
    const first = performance.now() - started;
    started = performance.now();
    expect(await users.verify('frank', 'frank-pw')).toBe(true);
    const second = performance.now() - started;
    expect(first).toBeGreaterThan(20);
    expect(second).toBeLessThan(first / 5);
    // A wrong password is never served from the cache.
    expect(await users.verify('frank', 'frank-pw ')).toBe(false);
  });

  test('do not remember after the time to live, and keep at most cacheMax entries', async () => {
    const text = [await htpasswdLine('g1', 'p1', 10), await htpasswdLine('g2', 'p2', 10)].join('\n');
    const users = htpasswdUsers({ text, cacheMax: 1 });
    await users.verify('g1', 'p1');
    await users.verify('g2', 'p2'); // evicts g1
    const started = performance.now();
    expect(await users.verify('g1', 'p1')).toBe(true);
    expect(performance.now() - started).toBeGreaterThan(20);
    const expiring = htpasswdUsers({ text, cacheTtlMs: 1 });
    await expiring.verify('g1', 'p1');
    await Bun.sleep(5);
    const again = performance.now();
    await expiring.verify('g1', 'p1');
    expect(performance.now() - again).toBeGreaterThan(20);
  });

  test('spend a bcrypt check on unknown users too, so timing does not tell who exists', async () => {
    const users = htpasswdUsers({ text: await htpasswdLine('henry', 'henry-pw', 10) });
    await users.verify('nobody', 'x'); // the decoy hash is made lazily on first use
    let started = performance.now();
    expect(await users.verify('henry', 'wrong')).toBe(false);
    const wrong = performance.now() - started;
    started = performance.now();
    expect(await users.verify('nobody', 'wrong')).toBe(false);
    const unknown = performance.now() - started;
    expect(unknown).toBeGreaterThan(wrong / 3);
  });

  test('accept a password longer than 72 bytes against a hash Apache htpasswd made (bcrypt reads only its first 72 bytes)', async () => {
    const long = 'correct horse battery staple, and then some more words to pass seventy-two bytes';
    const first72 = new TextEncoder().encode(long).subarray(0, 72);
    // What `htpasswd -B` stores for `long`: bcrypt of its first 72 bytes.
    const apacheHash = (await Bun.password.hash(first72, { algorithm: 'bcrypt', cost: 4 })).replace(/^\$2b\$/, '$2y$');
    const users = htpasswdUsers({ text: `kim:${apacheHash}`, cacheTtlMs: 0 });
    expect(await users.verify('kim', long)).toBe(true);
    expect(await users.verify('kim', long.slice(0, 71))).toBe(false);
    // A hash Bun made of the whole long password still verifies.
    const bunHash = (await Bun.password.hash(long, { algorithm: 'bcrypt', cost: 4 })).replace(/^\$2b\$/, '$2y$');
    expect(await htpasswdUsers({ text: `lee:${bunHash}` }).verify('lee', long)).toBe(true);
  });

  test('refuse a file line that is not a bcrypt hash, naming the line but not the hash', () => {
    expect(() => htpasswdUsers({ text: 'ivan:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=' })).toThrow(/htpasswd:1: user "ivan" has no bcrypt hash/);
  });
});
