/**
 * A node killed with SIGKILL in the middle of a push, behind a round-robin balancer over three nodes on one data
 * directory: nothing it (or any node) acknowledged is lost, and the client's retry on another node succeeds.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { digestOf } from '../../src/oci/digest.ts';
import { Client, OCI_MANIFEST, randomBytes, type Pushed } from '../helpers/client.ts';
import { FS_AND_PG_S3, startNodes, type Nodes } from '../support/nodes.ts';

const MiB = 1024 * 1024;

/** Retries a step that failed because its node died (a 502 from the balancer or a broken connection). */
async function withRetry<T>(step: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await step();
    } catch (error) {
      if (i >= attempts) throw error;
      await Bun.sleep(100);
    }
  }
}

for (const mode of FS_AND_PG_S3) describe(`a node killed with SIGKILL mid-push (${mode.name})`, () => {
  let nodes: Nodes;
  let client: Client;
  let engines: { stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    const started = await mode.start();
    engines = started;
    nodes = await startNodes({ storage: started.storage });
    client = new Client((request) => fetch(request, { signal: AbortSignal.timeout(90_000) }), nodes.url);
  }, 120_000);
  afterAll(async () => {
    await nodes?.stop();
    await engines?.stop();
  }, 60_000);

  test('loses nothing acknowledged, and the upload carries on from the status another node reports', async () => {
    // Acknowledged before the kill.
    const before: Pushed[] = [];
    for (let i = 0; i < 6; i++) before.push(await client.pushImage('kill/before', { tags: [`t${i}`], layers: [randomBytes(50_000)] }));

    const layer = randomBytes(8 * MiB);
    let location = await client.startUpload('kill/upload');
    let offset = 0;
    for (let i = 0; i < 3; i++) {
      const chunk = layer.subarray(offset, offset + MiB);
      const res = await client.send('PATCH', location, { body: chunk, headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + MiB - 1}` } });
      expect(res.status).toBe(202);
      offset += MiB;
      location = client.url(res.headers.get('location')!);
    }
    const acknowledged = offset;

    // Pushes of other images keep landing on every node while one dies; each is retried until acknowledged.
    let pushing = true;
    const during: Pushed[] = [];
    const background = (async () => {
      for (let i = 0; pushing && i < 200; i++) during.push(await withRetry(() => client.pushImage('kill/during', { tags: [`d${i}`], layers: [randomBytes(20_000)] })));
    })();

    // A PATCH whose body stops half-way; its node is killed while it is receiving.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(layer.subarray(offset, offset + MiB / 2));
        await held;
        controller.close();
      },
    });
    const patch = fetch(location, {
      method: 'PATCH',
      body,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + 2 * MiB - 1}` },
      signal: AbortSignal.timeout(30_000),
    }).then((r) => r.status, (e: unknown) => String(e));
    let victim = -1;
    const deadline = Date.now() + 10_000;
    while (victim < 0 && Date.now() < deadline) {
      victim = nodes.balancer.log.findLast((e) => e.method === 'PATCH' && e.status === undefined)?.node ?? -1;
      await Bun.sleep(20);
    }
    expect(victim).toBeGreaterThanOrEqual(0);
    await Bun.sleep(300);
    nodes.nodes[victim]!.proc.kill('SIGKILL');
    await nodes.nodes[victim]!.proc.exited;
    release();
    const outcome = await patch;
    // The client was never told the chunk was accepted.
    expect(outcome).not.toBe(202);
    await Bun.sleep(500);
    pushing = false;
    await background;

    // The retry: ask another node where the upload stands and send the rest from there.
    const retryStarted = performance.now();
    const status = await client.get(location);
    expect(status.status).toBe(204);
    expect(Number(status.headers.get('x-balancer-node'))).not.toBe(victim);
    const range = /^0-(\d+)$/.exec(status.headers.get('range') ?? '');
    expect(range).not.toBeNull();
    const have = Number(range![1]) + 1;
    // At least everything acknowledged; anything more is a prefix of the chunk that was cut off (the same bytes).
    expect(have).toBeGreaterThanOrEqual(acknowledged);
    expect(have).toBeLessThanOrEqual(acknowledged + MiB / 2);
    const rest = layer.subarray(have);
    const resumed = await client.send('PATCH', client.url(status.headers.get('location') ?? location), {
      body: rest,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${have}-${layer.byteLength - 1}` },
    });
    expect(resumed.status).toBe(202);
    const next = client.url(resumed.headers.get('location')!);
    const digest = digestOf(layer);
    const put = await client.send('PUT', `${next}${next.includes('?') ? '&' : '?'}digest=${digest}`);
    expect(put.status).toBe(201);
    const retryMs = performance.now() - retryStarted;

    const got = await client.get(`/v2/kill/upload/blobs/${digest}`);
    expect(got.status).toBe(200);
    expect(String(digestOf(new Uint8Array(await got.arrayBuffer())))).toBe(digest);

    // Every acknowledged manifest (before and during the kill) is there, on every surviving node.
    expect(during.length).toBeGreaterThan(0);
    const survivors = nodes.nodes.filter((_, i) => i !== victim);
    for (const node of survivors) {
      const direct = new Client((r) => fetch(r), node.url);
      for (const [repo, pushed, prefix] of [['kill/before', before, 't'], ['kill/during', during, 'd']] as const) {
        for (let i = 0; i < pushed.length; i++) {
          const res = await direct.get(`/v2/${repo}/manifests/${prefix}${i}`, { accept: OCI_MANIFEST });
          expect(res.status).toBe(200);
          expect(res.headers.get('docker-content-digest')).toBe(pushed[i]!.digest);
          await res.arrayBuffer();
        }
      }
    }
    console.log(`[${mode.name}] node ${victim} killed mid-PATCH: upload resumed at ${have} bytes (${acknowledged} acknowledged); resume + commit on another node took ${retryMs.toFixed(0)} ms; ${during.length} images pushed meanwhile, none lost`);
  }, 120_000);
});
