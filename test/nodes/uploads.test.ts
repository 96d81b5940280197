/**
 * Three independent nodes (`marina serve --locks host` on one data directory, blobs on it or in S3) behind a
 * round-robin balancer that sends each request to the next node: pushes and pulls whose steps land on different nodes.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { digestOf } from '../../src/oci/digest.ts';
import { Client, OCI_MANIFEST, randomBytes } from '../helpers/client.ts';
import { nodesUsed, startNodes, STORAGE_MODES, type Nodes } from '../support/nodes.ts';

for (const mode of STORAGE_MODES) describe(`three nodes behind a round-robin balancer (${mode.name})`, () => {
  let nodes: Nodes;
  let client: Client;
  let engines: { stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    const started = await mode.start();
    engines = started;
    nodes = await startNodes({ storage: started.storage });
    client = new Client((request) => fetch(request, { signal: AbortSignal.timeout(30_000) }), nodes.url);
  }, 120_000);
  afterAll(async () => {
    await nodes?.stop();
    await engines?.stop();
  }, 60_000);

  test('an image pushed through the balancer is read back by every node, each step on another node', async () => {
    const pushed = await client.pushImage('spread/image', { tags: ['v1'], layers: [randomBytes(100_000), randomBytes(5000)] });
    const from = nodesUsed(nodes.balancer);
    expect(from.size).toBe(3);
    for (const node of nodes.nodes) {
      const direct = new Client((r) => fetch(r), node.url);
      const manifest = await direct.get('/v2/spread/image/manifests/v1', { accept: OCI_MANIFEST });
      expect(manifest.status).toBe(200);
      expect(manifest.headers.get('docker-content-digest')).toBe(pushed.digest);
      await manifest.arrayBuffer();
      for (const layer of pushed.layers) {
        const blob = await direct.get(`/v2/spread/image/blobs/${layer.digest}`);
        expect(blob.status).toBe(200);
        expect(String(digestOf(new Uint8Array(await blob.arrayBuffer())))).toBe(layer.digest);
      }
    }
  }, 60_000);

  test('a chunked upload whose every PATCH lands on another node than the one before completes with the right digest', async () => {
    const start = nodes.balancer.log.length;
    let location = await client.startUpload('spread/chunked');
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (let i = 0; i < 9; i++) {
      const chunk = randomBytes(256 * 1024 + 17 * i);
      const res = await client.send('PATCH', location, {
        body: chunk,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.byteLength - 1}` },
      });
      expect(res.status).toBe(202);
      chunks.push(chunk);
      offset += chunk.byteLength;
      expect(res.headers.get('range')).toBe(`0-${offset - 1}`);
      location = client.url(res.headers.get('location')!);
    }
    const all = Buffer.concat(chunks);
    const digest = digestOf(all);
    const put = await client.send('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`);
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(digest);
    // Every step went to the node after the one before (round-robin over three), so no two PATCHes in a row shared one.
    const steps = nodes.balancer.log.slice(start).filter((e) => e.path.includes('/blobs/uploads/'));
    expect(steps.map((e) => e.method)).toEqual(['POST', ...Array(9).fill('PATCH'), 'PUT']);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!.node).toBe((steps[i - 1]!.node + 1) % 3);
    for (const node of nodes.nodes) {
      const got = await fetch(`${node.url}/v2/spread/chunked/blobs/${digest}`);
      expect(got.status).toBe(200);
      expect(digestOf(new Uint8Array(await got.arrayBuffer()))).toBe(digest);
    }
  }, 60_000);

  test('a chunked upload refuses a PATCH on a second node that skips bytes the first one acknowledged', async () => {
    const location = await client.startUpload('spread/gap');
    const first = randomBytes(1000);
    const ok = await client.send('PATCH', location, { body: first, headers: { 'content-type': 'application/octet-stream', 'content-range': '0-999' } });
    expect(ok.status).toBe(202);
    const skip = await client.send('PATCH', client.url(ok.headers.get('location')!), {
      body: randomBytes(10),
      headers: { 'content-type': 'application/octet-stream', 'content-range': '2000-2009' },
    });
    expect(skip.status).toBe(416);
    expect(skip.headers.get('range')).toBe('0-999');
    const last = nodes.balancer.log.slice(-2);
    expect(last[0]!.node).not.toBe(last[1]!.node);
  }, 60_000);

  test('a PATCH on another node than the one before costs a re-hash of the upload so far: measured', async () => {
    const chunk = 1024 * 1024;
    const count = 24;
    const bytes = randomBytes(chunk);
    /** One upload of `count` chunks; `nodeOf(i)` picks the node of PATCH i. Returns the PATCH and commit times (ms). */
    const upload = async (nodeOf: (i: number) => number): Promise<{ patches: number; commit: number; last: number }> => {
      const direct = nodes.nodes.map((n) => new Client((r) => fetch(r), n.url));
      let location = await direct[0]!.startUpload('spread/cost');
      let patches = 0;
      let last = 0;
      for (let i = 0; i < count; i++) {
        const c = direct[nodeOf(i)]!;
        const t0 = performance.now();
        const res = await c.send('PATCH', location, { body: bytes, headers: { 'content-type': 'application/octet-stream', 'content-range': `${i * chunk}-${(i + 1) * chunk - 1}` } });
        last = performance.now() - t0;
        patches += last;
        expect(res.status).toBe(202);
        location = c.url(res.headers.get('location')!);
      }
      const digest = digestOf(Buffer.concat(Array(count).fill(bytes)));
      // The commit goes to the node after the last PATCH's (the same node when not switching).
      const t0 = performance.now();
      const put = await direct[nodeOf(count)]!.send('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`);
      const commit = performance.now() - t0;
      expect(put.status).toBe(201);
      return { patches, commit, last };
    };
    const same = await upload(() => 0);
    const switching = await upload((i) => i % 3);
    // On the filesystem every switching PATCH i > 0 re-hashes the i MiB before it, and the commit on yet another
    // node all of them (1 + 2 + … + count MiB); S3 sessions carry no hash state across nodes.
    const rehashedMiB = (count * (count + 1)) / 2;
    const extraMs = switching.patches + switching.commit - same.patches - same.commit;
    console.log(
      `[${mode.name}] chunked upload of ${count} × 1 MiB: to one node PATCHes ${same.patches.toFixed(0)} ms + commit ${same.commit.toFixed(0)} ms; ` +
        `round-robin over 3 nodes PATCHes ${switching.patches.toFixed(0)} ms + commit ${switching.commit.toFixed(0)} ms; last PATCH ${same.last.toFixed(1)} vs ${switching.last.toFixed(1)} ms` +
        (mode.name === 'one data directory' ? `; ${rehashedMiB} MiB re-hashed on switches → ${(extraMs / rehashedMiB).toFixed(2)} ms per MiB (${(rehashedMiB / (extraMs / 1000)).toFixed(0)} MiB/s)` : `; extra ${extraMs.toFixed(0)} ms`),
    );
  }, 60_000);

  test('a tag moved through one node is read at once through the next, 30 times over', async () => {
    const base = await client.pushImage('spread/tags', { layers: [randomBytes(100)] });
    for (let i = 0; i < 30; i++) {
      const manifest = { ...base.manifest, annotations: { round: String(i) } };
      const put = await client.putManifest('spread/tags', 'latest', manifest, OCI_MANIFEST);
      expect(put.status).toBe(201);
      const get = await client.get('/v2/spread/tags/manifests/latest', { accept: OCI_MANIFEST });
      expect(get.status).toBe(200);
      expect(get.headers.get('docker-content-digest')).toBe(put.headers.get('docker-content-digest'));
      await get.arrayBuffer();
      const [p, g] = nodes.balancer.log.slice(-2);
      expect(p!.node).not.toBe(g!.node);
    }
  }, 60_000);
});
