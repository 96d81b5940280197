/**
 * SIGKILL at each commit point of a push (MARINA_CRASH_AT, see src/crash-points.ts), with fsync on: the crashed
 * data directory passes `marina fsck`, the restarted server has lost nothing it acknowledged, and the client can
 * finish the push. Also SIGKILL right after a manifest PUT's 201, repeated: the tag resolves after each restart.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { digestOf } from '../../src/oci/digest.ts';
import { randomBytes } from '../helpers/client.ts';
import { clientOf, died, expectConsistent, FaultBed, kill, makeImage, pushImage, statusOf, verifyPull } from './support.ts';

const bed = new FaultBed();
afterAll(() => bed.cleanup());

describe('SIGKILL at a commit point', () => {
  test('after a PATCH chunk is written: the restarted server reports a consistent upload state and the upload completes', async () => {
    for (const nth of [1, 2]) {
      const root = bed.dir();
      const chunks = [randomBytes(64 * 1024), randomBytes(64 * 1024), randomBytes(1000)];
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
      chunks.reduce((at, c) => (all.set(c, at), at + c.byteLength), 0);
      let server = await bed.serve(root, { MARINA_CRASH_AT: `upload-after-write@${nth}` });
      let c = clientOf(server);
      const location = new URL(await c.startUpload('crash/patch')).pathname;
      let sent = 0;
      for (const chunk of chunks) {
        const status = await statusOf(c, 'PATCH', location, chunk, { 'content-range': `${sent}-${sent + chunk.byteLength - 1}` });
        if (status === 'error') break;
        expect(status).toBe(202);
        sent += chunk.byteLength;
      }
      expect(await died(server)).toBe('SIGKILL');
      await expectConsistent(root);

      server = await bed.serve(root);
      c = clientOf(server);
      // The chunk that was being acknowledged may or may not have landed; the server says which, and never more.
      const state = await c.get(location);
      expect(state.status).toBe(204);
      const held = Number(state.headers.get('range')!.split('-')[1]) + 1;
      expect([sent, sent + chunks[nth - 1]!.byteLength]).toContain(held);
      const rest = all.subarray(held);
      const put = await statusOf(c, 'PUT', `${location}?digest=${digestOf(all)}`, rest, { 'content-range': `${held}-${all.byteLength - 1}` });
      expect(put).toBe(201);
      const blob = await c.get(`/v2/crash/patch/blobs/${digestOf(all)}`);
      expect(digestOf(new Uint8Array(await blob.arrayBuffer()))).toBe(digestOf(all));
      await kill(server);
      await expectConsistent(root);
    }
  }, 30_000);

  for (const point of ['blob-before-rename', 'blob-before-link'] as const) {
    test(`${point}: the blob is not acknowledged, nothing partial is served, and a retried push succeeds`, async () => {
      for (const nth of [1, 3]) {
        const root = bed.dir();
        const image = makeImage();
        let server = await bed.serve(root, { MARINA_CRASH_AT: `${point}@${nth}` });
        let c = clientOf(server);
        expect(await pushImage(c, 'crash/blob', 'v1', image)).toBe('error');
        expect(await died(server)).toBe('SIGKILL');
        await expectConsistent(root);

        server = await bed.serve(root);
        c = clientOf(server);
        // The blob whose commit was cut is not visible; the ones acknowledged before it are.
        const blobs = [image.config, ...image.layers];
        for (const [i, blob] of blobs.entries()) {
          const head = await c.head(`/v2/crash/blob/blobs/${digestOf(blob)}`);
          expect(head.status).toBe(i < nth - 1 ? 200 : 404);
        }
        expect(await pushImage(c, 'crash/blob', 'v1', image)).toBe(201);
        expect(await verifyPull(c, 'crash/blob', 'v1')).toEqual([]);
        await kill(server);
        await expectConsistent(root);
      }
    }, 30_000);
  }

  test('inside the manifest transaction: the tag is absent after restart (never half-written) and a retried PUT succeeds', async () => {
    for (const nth of [1, 2]) {
      const root = bed.dir();
      let server = await bed.serve(root, { MARINA_CRASH_AT: `manifest-in-transaction@${nth}` });
      let c = clientOf(server);
      const first = makeImage();
      const second = makeImage();
      const outcomes = [await pushImage(c, 'crash/manifest', 'one', first), await pushImage(c, 'crash/manifest', 'two', second)];
      expect(outcomes).toEqual(nth === 1 ? ['error', 'error'] : [201, 'error']);
      expect(await died(server)).toBe('SIGKILL');
      await expectConsistent(root);

      server = await bed.serve(root);
      c = clientOf(server);
      const crashed = nth === 1 ? 'one' : 'two';
      expect((await c.head(`/v2/crash/manifest/manifests/${crashed}`)).status).toBe(404);
      if (nth === 2) expect(await verifyPull(c, 'crash/manifest', 'one')).toEqual([]);
      expect(await pushImage(c, 'crash/manifest', crashed, nth === 1 ? first : second)).toBe(201);
      expect(await verifyPull(c, 'crash/manifest', crashed)).toEqual([]);
      await kill(server);
      await expectConsistent(root);
    }
  }, 30_000);

  test('right after a manifest PUT answered 201, repeated: every acknowledged tag resolves and pulls after each restart', async () => {
    const root = bed.dir();
    const acknowledged: string[] = [];
    for (let round = 0; round < 5; round++) {
      const server = await bed.serve(root);
      const c = clientOf(server);
      for (const tag of acknowledged) expect(await verifyPull(c, 'crash/acked', tag)).toEqual([]);
      const tag = `r${round}`;
      expect(await pushImage(c, 'crash/acked', tag, makeImage())).toBe(201);
      acknowledged.push(tag);
      await kill(server);
      await expectConsistent(root);
    }
    const server = await bed.serve(root);
    for (const tag of acknowledged) expect(await verifyPull(clientOf(server), 'crash/acked', tag)).toEqual([]);
    await kill(server);
  }, 60_000);
});
