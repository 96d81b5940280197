/** `releaseBodyChunks`: freeing upload chunks as they are written, and leaving callers' own buffers alone when off. */
import { describe, expect, test } from 'bun:test';
import { digestOf } from '../../src/oci/digest.ts';
import { openRegistry } from '../helpers/registry.ts';

function streamOfChunks(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
  });
}

describe('releaseBodyChunks', () => {
  test('off by default: an upload stream that enqueues the same buffer each time is stored byte for byte', async () => {
    const t = openRegistry();
    try {
      const block = new Uint8Array(64 * 1024).fill(9);
      const location = await t.client.startUpload('reuse/repo');
      const all = new Uint8Array(4 * block.byteLength).fill(9);
      const res = await t.client.send('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digestOf(all)}`, {
        body: streamOfChunks([block, block, block, block]),
      });
      expect(res.status).toBe(201);
      expect(block.byteLength).toBe(64 * 1024);
    } finally {
      await t.close();
    }
  });

  test('on: uploads still store exactly the bytes sent, and the chunks read are freed', async () => {
    const t = openRegistry({ releaseBodyChunks: true });
    try {
      const chunks = [1, 2, 3].map((n) => new Uint8Array(64 * 1024).fill(n));
      const all = new Uint8Array(3 * 64 * 1024);
      chunks.forEach((c, i) => all.set(c, i * c.byteLength));
      const digest = digestOf(all);
      const location = await t.client.startUpload('free/repo');
      const res = await t.client.send('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, { body: streamOfChunks(chunks) });
      expect(res.status).toBe(201);
      expect(chunks.map((c) => c.byteLength)).toEqual([0, 0, 0]);
      const back = await t.client.get(`/v2/free/repo/blobs/${digest}`);
      expect(new Uint8Array(await back.arrayBuffer())).toEqual(all);
    } finally {
      await t.close();
    }
  });
});
