/**
 * Hostile input against a real `marina serve` process: headers and request targets built to make a parser
 * backtrack or to name another repository must be answered quickly and must not stall other clients.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { Client, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';

let server: ServerProcess;
let c: Client;
let dataDir: string;

beforeAll(async () => {
  dataDir = tempDir('marina-hostile-');
  server = await startServer(dataDir);
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
    expect(probeMs).toBeLessThan(1000);
    expect(answer.ms).toBeLessThan(1000);
  });
});
