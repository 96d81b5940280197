/**
 * Hostile input against a real `marina serve` process: headers and request targets built to make a parser
 * backtrack or to name another repository must be answered quickly and must not stall other clients.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { Client, OCI_MANIFEST, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { parseRaw, rawHttp, startServer, type ServerProcess } from '../helpers/server.ts';

let server: ServerProcess;
let c: Client;
let dataDir: string;

beforeAll(async () => {
  dataDir = tempDir('marina-hostile-');
  server = await startServer(dataDir, [], { MARINA_MAX_MANIFEST_SIZE: '65536' });
  c = new Client((request) => fetch(request), server.url);
});

afterAll(async () => {
  await server?.stop('SIGKILL', 5000);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('a hostile Range header', () => {
  test('is refused at once and does not delay a concurrent GET /v2/', async () => {
    const digest = await c.pushBlob('hostile/range', randomBytes(2048));
    // Spaces around "-" and a trailing letter: quadratic (and worse) for a backtracking `\s*(\d*)\s*-\s*(\d*)\s*$`.
    const hostile = `bytes=${' '.repeat(2000)}-${' '.repeat(2000)}x`;
    const started = performance.now();
    const attack = fetch(`${server.url}/v2/hostile/range/blobs/${digest}`, { headers: { Range: hostile } }).then(async (res) => {
      await res.arrayBuffer();
      return { status: res.status, ms: performance.now() - started };
    });
    await Bun.sleep(50);
    const probeStarted = performance.now();
    const probe = await fetch(`${server.url}/v2/`);
    const probeMs = performance.now() - probeStarted;
    expect(probe.status).toBe(200);
    const answer = await attack;
    expect(answer.status).toBe(416);
    expect(probeMs).toBeLessThan(1500);
    expect(answer.ms).toBeLessThan(1500);
  });
});

/** Sends `GET <target>` exactly as written (no client normalisation) and parses the answer. */
async function rawGet(target: string, extraHeaders = ''): Promise<ReturnType<typeof parseRaw>> {
  return parseRaw(await rawHttp(server.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n${extraHeaders}Connection: close\r\n\r\n`));
}

function errorCode(body: string): string | undefined {
  return (JSON.parse(body) as { errors: { code: string }[] }).errors[0]?.code;
}

describe('request targets that try to name another repository (raw sockets)', () => {
  let fixDigest: string;

  beforeAll(async () => {
    fixDigest = (await c.pushImage('hp/fix', { reference: 'v1' })).digest;
  });

  test.each([
    ['an encoded slash', '/v2/hp/zz%2F..%2Ffix/manifests/v1'],
    ['an encoded slash after a dot segment', '/v2/hp/zz/..%2Ffix/manifests/v1'],
    ['an encoded backslash', '/v2/hp/zz%5C..%5Cfix/manifests/v1'],
    ['an empty path segment', '/v2/hp//fix/manifests/v1'],
    ['an encoded NUL', '/v2/hp/%00/fix/manifests/v1'],
    ['a raw non-ASCII byte', '/v2/hp/f\u00efx/manifests/v1'],
  ])('refuses %s in the repository part with 400 NAME_INVALID', async (_what, target) => {
    const res = await rawGet(target);
    expect(res.status).toBe(400);
    expect(errorCode(res.body)).toBe('NAME_INVALID');
  });

  // Bun resolves these before `request.url` exists (README, "Security notes"): Marina routes, authorizes and serves
  // the resolved path and cannot tell it from a plain one. This pins the documented behaviour.
  test.each([
    ['a dot-dot segment', '/v2/hp/zz/../fix/manifests/v1'],
    ['a %2e%2e segment', '/v2/hp/zz/%2e%2e/fix/manifests/v1'],
    ['a mixed .%2E segment', '/v2/hp/zz/.%2E/fix/manifests/v1'],
    ['backslashes', '/v2/hp/zz\\..\\fix/manifests/v1'],
    ['a dot segment', '/v2/hp/./fix/manifests/v1'],
    ['dot-dot segments above the repository', '/v2/other/../hp/fix/manifests/v1'],
  ])('Bun resolves %s before Marina sees the target, so the request reaches the resolved repository', async (_what, target) => {
    const res = await rawGet(target);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toEqual([fixDigest]);
  });

  test('Bun replaces an absolute-form authority with the Host header', async () => {
    const res = await rawGet('http://elsewhere.example/v2/hp/fix/manifests/v1');
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toEqual([fixDigest]);
  });
});

describe('oversized requests', () => {
  test('a target over 8 KiB gets 414 with the JSON error body', async () => {
    const res = await rawGet(`/v2/hp/fix/tags/list?last=${'a'.repeat(9000)}`);
    expect(res.status).toBe(414);
    expect(res.headers.get('content-type')).toEqual(['application/json']);
    expect(errorCode(res.body)).toBe('UNSUPPORTED');
  });

  test('a manifest over maxManifestSize gets 413 with the JSON error body', async () => {
    const res = await fetch(`${server.url}/v2/hp/fix/manifests/big`, {
      method: 'PUT',
      headers: { 'Content-Type': OCI_MANIFEST },
      body: new Uint8Array(65537).fill(0x20),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(errorCode(await res.text())).toBe('MANIFEST_INVALID');
  });

  test('Bun itself answers 431 without a body for a request head over about 16 KiB (README, "Security notes")', async () => {
    const res = await rawGet('/v2/', `X-Big: ${'a'.repeat(20_000)}\r\n`);
    expect(res.status).toBe(431);
    expect(res.body).toBe('');
  });
});
