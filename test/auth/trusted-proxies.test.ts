/**
 * The client behind reverse proxies: X-Forwarded-For is believed only from configured proxies, and only the hops
 * they appended, so a client cannot pick its own rate-limit bucket by sending the header itself.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import * as fs from 'node:fs';
import { parseIp, TrustedProxies } from '../../src/auth/trusted-proxies.ts';
import type { ServerProcess } from '../helpers/server.ts';
import { runs, withinTime } from '../support/property.ts';
import { authTempDir, startWithAuth } from './support.ts';

describe('addresses and ranges', () => {
  test('IPv4, IPv6, compressed and IPv4-mapped forms parse to the same numbers where they mean the same host', () => {
    expect(parseIp('127.0.0.1')).toBe(parseIp('::ffff:127.0.0.1'));
    expect(parseIp('::ffff:7f00:1')).toBe(parseIp('127.0.0.1'));
    expect(parseIp('::1')).toBe(1n);
    expect(parseIp('2001:db8::1')).toBe(parseIp('2001:0db8:0:0:0:0:0:1'));
    for (const bad of ['', '1.2.3', '1.2.3.256', '1.2.3.4.5', '::1::2', '12345::', 'g::1', 'fe80::1%eth0', ' 1.2.3.4', '1:2:3:4:5:6:7:8:9']) expect(parseIp(bad)).toBeUndefined();
  });

  test('CIDR ranges match the addresses inside them, in both families', () => {
    const proxies = new TrustedProxies(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
    expect(proxies.has('10.200.3.4')).toBe(true);
    expect(proxies.has('::ffff:10.1.1.1')).toBe(true);
    expect(proxies.has('11.0.0.1')).toBe(false);
    expect(proxies.has('192.168.1.7')).toBe(true);
    expect(proxies.has('192.168.1.8')).toBe(false);
    expect(proxies.has('fd12::5')).toBe(true);
    expect(proxies.has('fe80::5')).toBe(false);
    expect(proxies.has('not an address')).toBe(false);
  });

  test('invalid entries are refused with the entry named', () => {
    for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0/8/1', 'example.com', '10.0.0.0/x']) expect(() => new TrustedProxies([bad])).toThrow(/invalid trusted proxy/);
  });
});

describe('the client of a request', () => {
  const proxies = new TrustedProxies(['127.0.0.1', '10.0.0.0/8']);

  test('is the peer when the peer is not a proxy, whatever X-Forwarded-For says', () => {
    expect(proxies.clientOf('203.0.113.9', '198.51.100.1')).toBe('203.0.113.9');
  });

  test('is the rightmost hop that is not a proxy; entries left of it (client-written) are ignored', () => {
    expect(proxies.clientOf('127.0.0.1', '198.51.100.1')).toBe('198.51.100.1');
    expect(proxies.clientOf('127.0.0.1', '6.6.6.6, 198.51.100.1, 10.1.2.3')).toBe('198.51.100.1');
    expect(proxies.clientOf('127.0.0.1', '10.1.2.3, 10.9.9.9')).toBe('10.1.2.3');
  });

  test('stops at the last trusted hop when the next one is not an address', () => {
    expect(proxies.clientOf('127.0.0.1', 'garbage')).toBe('127.0.0.1');
    expect(proxies.clientOf('127.0.0.1', 'garbage, 10.0.0.5')).toBe('10.0.0.5');
    expect(proxies.clientOf('127.0.0.1', null)).toBe('127.0.0.1');
  });

  test('reads any header in bounded time, keeping the right end of an oversized one', () => {
    const long = `${'9.9.9.9, '.repeat(5000)}198.51.100.1`;
    expect(withinTime(50, () => proxies.clientOf('127.0.0.1', long))).toBe('198.51.100.1');
    fc.assert(
      fc.property(runs(['10.0.0.1,', ' ', ',', ':', '.', '1', 'ffff:', '::', '10.'], 3000), (header) => {
        const client = withinTime(50, () => proxies.clientOf('127.0.0.1', header));
        expect(client === '127.0.0.1' || parseIp(client!) !== undefined).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});

describe('marina serve --trusted-proxies', () => {
  let dir: string;
  let server: ServerProcess | undefined;
  beforeAll(() => (dir = authTempDir()));
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const statuses = async (url: string, count: number, forwardedFor: string) => {
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const res = await fetch(url, { headers: { 'x-forwarded-for': forwardedFor } });
      await res.arrayBuffer();
      out.push(res.status);
    }
    return out;
  };

  test('behind a trusted proxy, each forwarded client has its own rate-limit budget', async () => {
    server = await startWithAuth(dir, ['--rate-limit', '0.1', '--rate-burst', '3', '--trusted-proxies', '127.0.0.1/32, ::1']);
    expect(await statuses(`${server.url}/v2/`, 5, '198.51.100.1')).toEqual([200, 200, 200, 429, 429]);
    // Another client through the same proxy is not held back by the first one's spending.
    expect(await statuses(`${server.url}/v2/`, 3, '198.51.100.2')).toEqual([200, 200, 200]);
    await server.stop();
    server = undefined;
  });

  test('without it, X-Forwarded-For is ignored: a client cannot dodge its budget by inventing addresses', async () => {
    server = await startWithAuth(dir, ['--rate-limit', '0.1', '--rate-burst', '3']);
    const answers: number[] = [];
    for (let i = 0; i < 5; i++) answers.push(...(await statuses(`${server.url}/v2/`, 1, `198.51.100.${i}`)));
    expect(answers).toEqual([200, 200, 200, 429, 429]);
  });
});
