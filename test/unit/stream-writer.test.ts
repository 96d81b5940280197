/** pumpBody: the byte limit, and freeing chunks only of bodies whose chunks belong to the reader. */
import { describe, expect, test } from 'bun:test';
import { pumpBody, releasingChunks } from '../../src/storage/stream-writer.ts';

function streamOfChunks(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
  });
}

describe('pumpBody', () => {
  test('frees each chunk of a marked body right after writing it, with every byte written first', async () => {
    const chunks = [new Uint8Array(1000).fill(1), new Uint8Array(500).fill(2)];
    const seen: number[] = [];
    const total = await pumpBody(releasingChunks(streamOfChunks(chunks)), 1500, (chunk) => seen.push(chunk.byteLength, chunk[0]!));
    expect(total).toBe(1500);
    expect(seen).toEqual([1000, 1, 500, 2]);
    // Detached: the memory went back at once instead of waiting for a garbage collection.
    expect(chunks.map((c) => c.buffer.byteLength)).toEqual([0, 0]);
  });

  test('leaves the chunks of an unmarked body alone, so a producer may enqueue one buffer again and again', async () => {
    const block = new Uint8Array(256).fill(7);
    const hashed = new Bun.CryptoHasher('sha256');
    const total = await pumpBody(streamOfChunks([block, block, block]), undefined, (chunk) => hashed.update(chunk));
    expect(total).toBe(768);
    expect(block.byteLength).toBe(256);
    expect(hashed.digest('hex')).toBe(new Bun.CryptoHasher('sha256').update(new Uint8Array(768).fill(7)).digest('hex'));
  });

  test('never frees a chunk that is a view into a larger buffer (its other bytes may be chunks still to come)', async () => {
    const shared = new Uint8Array(1024).fill(3);
    const parts = [shared.subarray(0, 512), shared.subarray(512)];
    const total = await pumpBody(releasingChunks(streamOfChunks(parts)), 1024, () => undefined);
    expect(total).toBe(1024);
    expect(shared.buffer.byteLength).toBe(1024);
    expect(shared[1023]).toBe(3);
  });

  test('refuses a marked body longer than announced before writing the chunk that passes the length', async () => {
    const writes: number[] = [];
    const body = releasingChunks(streamOfChunks([new Uint8Array(10), new Uint8Array(10)]));
    await expect(pumpBody(body, 15, (c) => writes.push(c.byteLength))).rejects.toMatchObject({ code: 'SIZE_INVALID' });
    expect(writes).toEqual([10]);
  });
});
