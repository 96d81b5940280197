/**
 * `marina serve` as a real process on 127.0.0.1: what goes over the wire, large streamed uploads in bounded
 * memory, restarts, graceful shutdown, and the command line.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import pkg from '../../package.json' with { type: 'json' };
import { digestOf } from '../../src/oci/digest.ts';
import { Client, OCI_MANIFEST, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { parseRaw, peakRss, rawHttp, runCli, startServer, type ServerProcess } from '../helpers/server.ts';

const MiB = 1024 * 1024;
const dirs: string[] = [];
const servers: ServerProcess[] = [];

function freshDir(): string {
  const dir = tempDir('marina-it-');
  dirs.push(dir);
  return dir;
}

async function serve(dataDir: string, args: string[] = []): Promise<ServerProcess> {
  const server = await startServer(dataDir, args);
  servers.push(server);
  return server;
}

function clientOf(server: ServerProcess): Client {
  return new Client((request) => fetch(request), server.url);
}

afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL', 5000);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('a running server', () => {
  let server: ServerProcess;
  let c: Client;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = freshDir();
    // Two short host names for the routing test below (on loopback, only listed names are answered).
    server = await serve(dataDir, ['--allowed-hosts', 'reg,r']);
    c = clientOf(server);
  });

  test('logs one startup line with version, address, data directory and mode', () => {
    const line = server.startupLine;
    expect(line).toContain(`marina ${pkg.version} listening on http://127.0.0.1:${server.port}`);
    expect(line).toContain(`data=${fs.realpathSync(dataDir)}`);
    expect(line).toContain('mode=registry');
    expect(line).toContain('deletes=true');
    expect(line).toContain('referrers=true');
    expect(server.port).toBeGreaterThan(0);
  });

  test('sends an exact Content-Length, no chunking and no file name for blob HEAD and GET', async () => {
    const data = randomBytes(12345);
    const digest = await c.pushBlob('wire/repo', data);
    const request = (method: string) => `${method} /v2/wire/repo/blobs/${digest} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
    const head = parseRaw(await rawHttp(server.port, request('HEAD')));
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toEqual(['12345']);
    expect(head.headers.get('transfer-encoding')).toBeUndefined();
    expect(head.headers.get('docker-content-digest')).toEqual([digest]);
    expect(head.headers.get('docker-distribution-api-version')).toEqual(['registry/2.0']);
    expect(head.body).toBe('');
    const get = parseRaw(await rawHttp(server.port, request('GET')));
    expect(get.status).toBe(200);
    expect(get.headers.get('content-length')).toEqual(['12345']);
    expect(get.headers.get('transfer-encoding')).toBeUndefined();
    expect(get.headers.get('content-type')).toEqual(['application/octet-stream']);
    for (const response of [head, get]) {
      const disposition = (response.headers.get('content-disposition') ?? []).join(' ');
      expect(disposition).not.toContain('filename');
      expect(disposition).not.toContain(digest.slice(7));
    }
  });

  test('sends an exact Content-Length for a Range read and for a zero-byte blob HEAD', async () => {
    const data = randomBytes(2048);
    const digest = await c.pushBlob('wire/repo', data);
    const ranged = parseRaw(await rawHttp(server.port, `GET /v2/wire/repo/blobs/${digest} HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=500-1499\r\nConnection: close\r\n\r\n`));
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-length')).toEqual(['1000']);
    expect(ranged.headers.get('content-range')).toEqual(['bytes 500-1499/2048']);
    const empty = await c.pushBlob('wire/repo', new Uint8Array(0));
    const head = parseRaw(await rawHttp(server.port, `HEAD /v2/wire/repo/blobs/${empty} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toEqual(['0']);
  });

  test('sends an exact Content-Length and the stored type for manifest HEAD and GET', async () => {
    const pushed = await c.pushImage('wire/repo', { reference: 'v1' });
    for (const method of ['HEAD', 'GET']) {
      const res = parseRaw(await rawHttp(server.port, `${method} /v2/wire/repo/manifests/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: ${OCI_MANIFEST}\r\nConnection: close\r\n\r\n`));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toEqual([String(pushed.bytes.byteLength)]);
      expect(res.headers.get('content-type')).toEqual([OCI_MANIFEST]);
      expect(res.headers.get('docker-content-digest')).toEqual([pushed.digest]);
      expect(res.headers.get('transfer-encoding')).toBeUndefined();
      expect(res.body).toBe(method === 'GET' ? new TextDecoder().decode(pushed.bytes) : '');
    }
  });

  test('refuses a percent-encoded slash in a name on the wire with 400 NAME_INVALID', async () => {
    const res = parseRaw(await rawHttp(server.port, 'GET /v2/wire%2Frepo/tags/list HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).errors[0].code).toBe('NAME_INVALID');
  });

  test('never lets dot segments on the wire escape into another repository', async () => {
    await c.pushImage('wire/repo', { reference: 'dots' });
    const res = parseRaw(await rawHttp(server.port, 'GET /v2/elsewhere/../wire/repo/tags/list HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    // Bun resolves the dot segment before routing: the request is for wire/repo, never for "elsewhere/..".
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).name).toBe('wire/repo');
  });

  // Elysia 1.4 assumes an authority of 4+ characters; serve routes shorter ones straight to the registry handler.
  test('routes a request whose Host header is shorter than four characters', async () => {
    for (const host of ['reg', 'r:1']) {
      const res = parseRaw(await rawHttp(server.port, `GET /v2/ HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
      expect({ host, status: res.status }).toEqual({ host, status: 200 });
    }
  });

  test('accepts a chunked manifest PUT, as Go clients send it', async () => {
    const pushed = await c.pushImage('wire/chunked');
    const res = parseRaw(
      await rawHttp(
        server.port,
        `PUT /v2/wire/chunked/manifests/chunked HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${OCI_MANIFEST}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
          `${pushed.bytes.byteLength.toString(16)}\r\n${new TextDecoder().decode(pushed.bytes)}\r\n0\r\n\r\n`,
      ),
    );
    expect(res.status).toBe(201);
    expect(res.headers.get('docker-content-digest')).toEqual([pushed.digest]);
  });

  test('streams a 200 MiB upload to disk without holding it in memory', async () => {
    const total = 200 * MiB;
    const chunk = randomBytes(MiB);
    const hasher = new Bun.CryptoHasher('sha256');
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= total) return controller.close();
        // Vary each chunk so the content is not one block repeated.
        chunk[0] = sent / MiB;
        const copy = chunk.slice();
        hasher.update(copy);
        sent += copy.byteLength;
        controller.enqueue(copy);
      },
    });
    const location = await c.startUpload('big/repo');
    const patched = await fetch(location, { method: 'PATCH', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(patched.status).toBe(202);
    expect(patched.headers.get('range')).toBe(`0-${total - 1}`);
    const digest = `sha256:${hasher.digest('hex')}`;
    const put = await fetch(`${location}?digest=${digest}`, { method: 'PUT' });
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(digest);

    const head = await fetch(`${server.url}/v2/big/repo/blobs/${digest}`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(total));
    // Read it back whole, hashing as it streams.
    const back = new Bun.CryptoHasher('sha256');
    let received = 0;
    const got = await fetch(`${server.url}/v2/big/repo/blobs/${digest}`);
    for await (const part of got.body!) {
      back.update(part);
      received += part.byteLength;
    }
    expect(received).toBe(total);
    expect(`sha256:${back.digest('hex')}`).toBe(digest);

    const peak = await peakRss(server.proc.pid);
    if (process.env.MARINA_TEST_VERBOSE) console.log(`server peak RSS after 200 MiB up and down: ${((peak ?? 0) / MiB).toFixed(1)} MiB`);
    expect(peak).toBeDefined();
    expect(peak!).toBeLessThan(150 * MiB);
  }, 60_000);

  test('rolls a PATCH cut off mid-body back to the last complete chunk', async () => {
    const first = randomBytes(64 * 1024);
    const location = await c.startUpload('cut/repo');
    expect((await c.send('PATCH', location, { body: first, headers: { 'content-range': `0-${first.byteLength - 1}` } })).status).toBe(202);
    const abort = new AbortController();
    let pushedBytes = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pushedBytes >= 256 * 1024) {
          // Stall, then drop the connection mid-body.
          await Bun.sleep(200);
          abort.abort();
          return;
        }
        pushedBytes += 64 * 1024;
        controller.enqueue(randomBytes(64 * 1024));
      },
    });
    const outcome = await fetch(location, { method: 'PATCH', body, signal: abort.signal }).then(
      (r) => r.status,
      () => 'aborted',
    );
    expect(outcome).toBe('aborted');
    // The server notices the broken body asynchronously; wait (bounded) for the session to settle.
    let range = '';
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await Bun.sleep(50)) {
      const status = await fetch(location);
      expect(status.status).toBe(204);
      range = status.headers.get('range')!;
      if (range === `0-${first.byteLength - 1}`) break;
    }
    expect(range).toBe(`0-${first.byteLength - 1}`);
    const rest = randomBytes(1000);
    const all = new Uint8Array([...first, ...rest]);
    expect((await c.send('PATCH', location, { body: rest, headers: { 'content-range': `${first.byteLength}-${all.byteLength - 1}` } })).status).toBe(202);
    const put = await c.send('PUT', `${location}?digest=${digestOf(all)}`);
    expect(put.status).toBe(201);
  });
});

describe('secrets in upstream URLs', () => {
  test('the startup line names a mirror upstream without the password written into its URL', async () => {
    const server = await serve(freshDir(), ['--mirror', 'corp=http://robot:s3cret-token@127.0.0.1:1']);
    expect(server.startupLine).toContain('mirror corp=http://127.0.0.1:1');
    expect(server.stderr()).not.toContain('s3cret-token');
  });
});

describe('restarts and shutdown', () => {
  test('resumes an upload after a restart on the same data directory', async () => {
    const dataDir = freshDir();
    const data = randomBytes(3 * MiB + 17);
    const digest = digestOf(data);
    const cut = 2 * MiB;

    const first = await serve(dataDir);
    const c1 = clientOf(first);
    const location = new URL(await c1.startUpload('resume/repo')).pathname;
    const patched = await c1.send('PATCH', location, { body: data.subarray(0, cut), headers: { 'content-range': `0-${cut - 1}` } });
    expect(patched.status).toBe(202);
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await serve(dataDir);
    const c2 = clientOf(second);
    const status = await c2.get(location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${cut - 1}`);
    // A chunk that does not continue the upload is still refused after the restart.
    expect((await c2.send('PATCH', location, { body: data.subarray(cut + 1), headers: { 'content-range': `${cut + 1}-${data.byteLength - 1}` } })).status).toBe(416);
    const rest = await c2.send('PATCH', location, { body: data.subarray(cut), headers: { 'content-range': `${cut}-${data.byteLength - 1}` } });
    expect(rest.status).toBe(202);
    const put = await c2.send('PUT', `${location}?digest=${digest}`);
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(digest);
    const got = await c2.get(`/v2/resume/repo/blobs/${digest}`);
    expect(new Uint8Array(await got.arrayBuffer()) as Uint8Array).toEqual(data);
    expect(await second.stop('SIGTERM')).toBe(0);
  }, 30_000);

  test('finishes an in-flight request on SIGTERM before exiting', async () => {
    const server = await serve(freshDir());
    const c = clientOf(server);
    const path = new URL(await c.startUpload('term/repo')).pathname;
    const half = 'a'.repeat(32 * 1024);
    let raw = '';
    let closed!: () => void;
    const done = new Promise<void>((resolve) => (closed = resolve));
    // A raw socket, so the request is provably in flight: headers and half the body are sent before the signal.
    const socket = await Bun.connect({
      hostname: '127.0.0.1',
      port: server.port,
      socket: {
        data(_s, data) {
          raw += new TextDecoder().decode(data);
        },
        close() {
          closed();
        },
      },
    });
    socket.write(`PATCH ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${2 * half.length}\r\nConnection: close\r\n\r\n${half}`);
    await Bun.sleep(150);
    server.proc.kill('SIGTERM');
    const deadline = Date.now() + 5000;
    while (!server.stderr().includes('shutting down') && Date.now() < deadline) await Bun.sleep(20);
    expect(server.stderr()).toContain('shutting down');
    expect(server.proc.exitCode).toBeNull();
    socket.write(half);
    await Promise.race([done, Bun.sleep(5000)]);
    const res = parseRaw(raw);
    expect(res.status).toBe(202);
    expect(res.headers.get('range')).toEqual([`0-${2 * half.length - 1}`]);
    const timer = setTimeout(() => server.proc.kill('SIGKILL'), 10_000);
    expect(await server.proc.exited).toBe(0);
    clearTimeout(timer);
    expect(server.stderr()).toContain('stopped');
  }, 30_000);

  test('serves the data written before a restart', async () => {
    const dataDir = freshDir();
    const first = await serve(dataDir);
    const pushed = await clientOf(first).pushImage('persist/repo', { reference: 'v1' });
    expect(await first.stop('SIGINT')).toBe(0);
    const second = await serve(dataDir);
    const res = await clientOf(second).get('/v2/persist/repo/manifests/v1');
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer()) as Uint8Array).toEqual(pushed.bytes);
    expect(await second.stop()).toBe(0);
  }, 30_000);
});

describe('command line', () => {
  test('marina --help prints usage and exits 0', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: marina <command>');
    expect(stdout).toContain('serve');
  });

  test('marina serve --help prints the serve options and exits 0 without starting', async () => {
    const { code, stdout } = await runCli(['serve', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: marina serve');
    expect(stdout).toContain('--port');
    expect(stdout).toContain('--data');
  });

  test('marina version prints the package version', async () => {
    const { code, stdout } = await runCli(['version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(pkg.version);
  });

  test('an unknown command exits non-zero with the usage', async () => {
    const { code, stderr } = await runCli(['frobnicate']);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command 'frobnicate'");
    expect(stderr).toContain('Usage: marina');
  });

  test.each([
    ['a port that is not a number', ['--port', 'eighty'], {}, 'port'],
    ['a port out of range', ['--port', '70000'], {}, 'port'],
    ['an unknown log level from the environment', [], { MARINA_LOG_LEVEL: 'chatty' }, 'logLevel'],
    ['a non-boolean switch from the environment', [], { MARINA_DELETE: 'sometimes' }, 'deleteEnabled'],
    ['a manifest size limit below the minimum', ['--max-manifest-size', '10'], {}, 'maxManifestSize'],
  ])('fails at startup on %s, naming the field', async (_what, args, env, field) => {
    const dataDir = freshDir();
    const { code, stderr } = await runCli(['serve', '--port', '0', '--data', dataDir, ...args], env as Record<string, string>);
    expect(code).toBe(1);
    expect(stderr).toContain('invalid configuration');
    expect(stderr).toContain(field);
  });

  test('fails at startup on an unknown setting in the config file, naming it', async () => {
    const dir = freshDir();
    const file = `${dir}/marina.json`;
    fs.writeFileSync(file, JSON.stringify({ prot: 5000 }));
    const { code, stderr } = await runCli(['serve', '--config', file, '--data', dir]);
    expect(code).toBe(1);
    expect(stderr).toContain('prot');
  });

  test('fails at startup on an unknown flag', async () => {
    const { code, stderr } = await runCli(['serve', '--prot', '1']);
    expect(code).toBe(1);
    expect(stderr).toContain('--prot');
  });
});
