/**
 * Range reads of a blob still being filled (issue #16): a range is answered as soon as its bytes are on disk, not
 * when the whole fill ends; the blob's last byte waits for the digest check, so a fill that fails its digest never
 * yields a complete wrong body, whole or ranged.
 */
import { afterAll, afterEach, beforeAll, expect, test } from 'bun:test';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';
import { hasBlobFile, serveMirror, serveRegistry, until, type Served } from './support/harness.ts';
import { pushImage, randomImage } from './support/images.ts';

const MiB = 1024 * 1024;
let upstream: Served;
let proxy: FaultProxy;
let mirror: Served;
const image = randomImage([8 * MiB, 2 * MiB], 'range-fill');

beforeAll(async () => {
  upstream = serveRegistry();
  await pushImage(upstream.url, 'team/app', 'v1', image);
  proxy = await startFaultProxy(upstream.url);
  mirror = serveMirror({ upstreams: [{ name: 'up.test', url: proxy.url }], upstreamTimeoutMs: 2000 });
});

afterEach(() => {
  proxy.faults = {};
});

afterAll(async () => {
  await mirror?.close();
  await proxy?.stop();
  await upstream?.close();
});

test('a Range of bytes already on disk is answered while the fill is still running', async () => {
  const layer = image.layers[0]!;
  // 8 MiB at 4 MiB/s: the fill takes about 2 s.
  proxy.faults.blobBytesPerSecond = 4 * MiB;
  const started = performance.now();
  const whole = fetch(`${mirror.url}/v2/up.test/team/app/blobs/${layer.digest}`).then((r) => r.arrayBuffer());
  await until(() => proxy.blobGets(layer.digest).length > 0, 3000, 'the fill to start');
  const ranged = await fetch(`${mirror.url}/v2/up.test/team/app/blobs/${layer.digest}`, { headers: { Range: 'bytes=1000-1999' } });
  const bytes = new Uint8Array(await ranged.arrayBuffer());
  const firstRangeMs = performance.now() - started;
  expect(ranged.status).toBe(206);
  expect(ranged.headers.get('content-range')).toBe(`bytes 1000-1999/${layer.bytes.byteLength}`);
  expect(Buffer.from(bytes).equals(Buffer.from(layer.bytes.subarray(1000, 2000)))).toBe(true);
  // Answered before the fill ended: the blob is not in the store yet.
  expect(hasBlobFile(mirror.root, layer.digest)).toBe(false);
  const wholeBytes = new Uint8Array(await whole);
  const fillMs = performance.now() - started;
  console.log(`range 1000-1999 of a filling 8 MiB blob: ${firstRangeMs.toFixed(0)} ms; whole fill: ${fillMs.toFixed(0)} ms`);
  expect(firstRangeMs).toBeLessThan(fillMs / 2);
  expect(wholeBytes.byteLength).toBe(layer.bytes.byteLength);
});

test('a fill that fails its digest never completes a body that includes the last byte, ranged or whole', async () => {
  const layer = image.layers[1]!;
  proxy.faults.corruptBlob = layer.digest;
  proxy.faults.blobBytesPerSecond = 4 * MiB;
  const size = layer.bytes.byteLength;
  const url = `${mirror.url}/v2/up.test/team/app/blobs/${layer.digest}`;
  const read = async (init?: RequestInit) => {
    try {
      const res = await fetch(url, init);
      return { status: res.status, bytes: (await res.arrayBuffer()).byteLength };
    } catch (error) {
      return { status: 0, bytes: -1, error: String(error) };
    }
  };
  const whole = read();
  await until(() => proxy.blobGets(layer.digest).length > 0, 3000, 'the fill to start');
  const [tail, all] = await Promise.all([read({ headers: { Range: `bytes=${size - 100}-${size - 1}` } }), whole]);
  // Either the answer broke, or it is an error status: never the complete (wrong) bytes.
  expect(tail.status === 206 && tail.bytes === 100).toBe(false);
  expect(all.status === 200 && all.bytes === size).toBe(false);
  expect(hasBlobFile(mirror.root, layer.digest)).toBe(false);
});
