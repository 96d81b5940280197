/**
 * The pull-through mirror on three nodes behind a round-robin balancer: cold clients spread over the nodes make one
 * upstream fetch per blob (the node holding the fill's lease fetches; the others wait for the shared store).
 * Upstream: CNCF Distribution 2.8 behind a counting, throttling proxy.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startDistribution, type DistributionServer } from '../support/distribution.ts';
import { FS_AND_PG_S3, startNodes, type Nodes } from '../support/nodes.ts';
import { startFaultProxy, type FaultProxy } from '../mirror/support/fault-proxy.ts';
import { makeImage, pushImage, randomBytes, type Image } from '../mirror/support/images.ts';

const MiB = 1024 * 1024;

/** A GET whose body is compared with `expected` as it streams; `ttfbMs` is the time to its first body byte. */
async function timedGet(url: string, expected: Uint8Array): Promise<{ status: number; node: string | null; cache: string | null; bytes: number; equal: boolean; ttfbMs: number; totalMs: number; error?: string }> {
  const started = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  let ttfbMs = -1;
  let bytes = 0;
  let equal = true;
  const head = { status: res.status, node: res.headers.get('x-balancer-node'), cache: res.headers.get('cache-status') };
  try {
    for await (const chunk of res.body ?? new ReadableStream<Uint8Array>()) {
      if (ttfbMs < 0) ttfbMs = performance.now() - started;
      if (equal && !Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).equals(expected.subarray(bytes, bytes + chunk.byteLength))) equal = false;
      bytes += chunk.byteLength;
    }
  } catch (error) {
    return { ...head, bytes, equal: false, ttfbMs, totalMs: performance.now() - started, error: String(error) };
  }
  return { ...head, bytes, equal: equal && bytes === expected.byteLength, ttfbMs, totalMs: performance.now() - started };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

for (const mode of FS_AND_PG_S3) describe(`the mirror on three nodes (${mode.name})`, () => {
  let dist: DistributionServer;
  let proxy: FaultProxy;
  let nodes: Nodes;
  let engines: { stop(): Promise<void> } | undefined;
  let big: Image;
  let second: Image;

  beforeAll(async () => {
    const started = await mode.start();
    engines = started;
    dist = await startDistribution();
    big = makeImage([randomBytes(64 * MiB)], { label: 'nodes-big' });
    await pushImage(dist.url, 'team/big', 'v1', big);
    second = makeImage([randomBytes(32 * MiB)], { label: 'nodes-second' });
    await pushImage(dist.url, 'team/second', 'v1', second);
    proxy = await startFaultProxy(dist.url);
    nodes = await startNodes({ storage: started.storage, args: ['--mirror', `dist.test=${proxy.url}`] });
  }, 180_000);
  afterAll(async () => {
    await nodes?.stop();
    await proxy?.stop();
    await dist?.stop();
    await engines?.stop();
  }, 60_000);

  test('20 concurrent cold GETs of one 64 MiB layer spread over the nodes make ONE upstream GET', async () => {
    const layer = big.layers[0]!;
    const url = `${nodes.url}/v2/dist.test/team/big/blobs/${layer.digest}`;
    // A throttled upstream (about 1.6 s for the layer) so that every client arrives while the one fill runs.
    proxy.faults.blobBytesPerSecond = 40 * MiB;
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 20 }, () => timedGet(url, layer.bytes)));
    const ms = performance.now() - started;
    proxy.faults = {};

    for (const r of results) {
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(200);
      expect(r.bytes).toBe(64 * MiB);
      expect(r.equal).toBe(true);
    }
    expect(new Set(results.map((r) => r.node)).size).toBe(3);
    const misses = results.filter((r) => r.cache === 'marina; fwd=miss');
    expect(misses.length).toBe(1);
    expect(proxy.blobGets(layer.digest).length).toBe(1);

    const owner = misses[0]!.node;
    const ownerTtfb = results.filter((r) => r.node === owner).map((r) => r.ttfbMs);
    const otherTtfb = results.filter((r) => r.node !== owner).map((r) => r.ttfbMs);
    console.log(
      `[${mode.name}] 20 cold GETs of 64 MiB over 3 nodes: ${ms.toFixed(0)} ms, upstream blob GETs ${proxy.blobGets(layer.digest).length}; ` +
        `time to first byte on the filling node (${ownerTtfb.length} clients): median ${median(ownerTtfb).toFixed(0)} ms, max ${Math.max(...ownerTtfb).toFixed(0)} ms; ` +
        `on the other nodes (${otherTtfb.length}): median ${median(otherTtfb).toFixed(0)} ms, max ${Math.max(...otherTtfb).toFixed(0)} ms`,
    );
    // Clients on the other nodes waited for the fill to be published, then were served from the shared store.
    expect(results.filter((r) => r.node !== owner).every((r) => r.cache?.includes('detail=joined') || r.cache?.includes('hit'))).toBe(true);
  }, 60_000);

  test('when the filling node is killed mid-fill, a waiting node takes over and its clients get the whole blob', async () => {
    const layer = second.layers[0]!;
    const url = `${nodes.url}/v2/dist.test/team/second/blobs/${layer.digest}`;
    // Slow enough (about 8 s) that the fill is still running when its node dies.
    proxy.faults.blobBytesPerSecond = 4 * MiB;
    const clients = Array.from({ length: 6 }, () => timedGet(url, layer.bytes));
    // The filling node answers at once (it streams the fill); the others wait for its lease.
    const deadline = Date.now() + 10_000;
    while (proxy.blobGets(layer.digest).length === 0 && Date.now() < deadline) await Bun.sleep(20);
    await Bun.sleep(500);
    const owners = nodes.balancer.log.filter((e) => e.path.endsWith(layer.digest) && e.status === 200);
    expect(owners.length).toBeGreaterThan(0);
    const victim = owners[0]!.node;
    const killedAt = performance.now();
    nodes.nodes[victim]!.proc.kill('SIGKILL');
    await nodes.nodes[victim]!.proc.exited;
    proxy.faults = {};
    const results = await Promise.all(clients);
    const tookOverMs = performance.now() - killedAt;

    const survivors = results.filter((r) => r.node !== String(victim));
    expect(survivors.length).toBe(4);
    for (const r of survivors) {
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(200);
      expect(r.equal).toBe(true);
    }
    // The dead node's clients lost their connection mid-body (or never got one): none saw a complete blob.
    for (const r of results.filter((r) => r.node === String(victim) || r.node === null)) expect(r.equal).toBe(false);
    // One GET from the dead node, one from the node that took over.
    expect(proxy.blobGets(layer.digest).length).toBe(2);
    console.log(`[${mode.name}] filling node ${victim} killed mid-fill: the other nodes' ${survivors.length} clients had the 32 MiB blob ${tookOverMs.toFixed(0)} ms later; upstream GETs ${proxy.blobGets(layer.digest).length}`);
  }, 60_000);
});
