/**
 * The BlobStore contract: any implementation (built-in or an application's own) must pass it.
 * Usage: `blobStoreContract('my store', async () => ({ store, cleanup }))` inside a bun test file.
 */
import { afterEach, describe, expect, test } from 'bun:test';
import { digestOf, type Digest } from '../../src/oci/digest.ts';
import { RegistryError } from '../../src/errors.ts';
import type { BlobStore } from '../../src/storage/types.ts';

/** Makes a fresh, empty store; `cleanup` removes whatever it left behind. */
export type MakeBlobStore = () => Promise<{ store: BlobStore; cleanup?: () => Promise<void> }>;

const enc = (s: string) => new TextEncoder().encode(s);

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const p of parts) controller.enqueue(enc(p));
      controller.close();
    },
  });
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(RegistryError);
  expect((error as RegistryError).code).toBe(code as RegistryError['code']);
}

/** Registers the BlobStore contract tests. */
export function blobStoreContract(name: string, make: MakeBlobStore): void {
  describe(`BlobStore contract: ${name}`, () => {
    let cleanups: (() => Promise<void>)[] = [];
    const fresh = async () => {
      const { store, cleanup } = await make();
      cleanups.push(async () => {
        await store.close();
        await cleanup?.();
      });
      return store;
    };
    afterEach(async () => {
      for (const c of cleanups) await c();
      cleanups = [];
    });

    test('put then stat and open return the same bytes', async () => {
      const store = await fresh();
      const bytes = enc('hello blob');
      const digest = digestOf(bytes);
      expect(await store.put(digest, bytes)).toEqual({ digest, size: bytes.byteLength });
      expect(await store.stat(digest)).toEqual({ digest, size: bytes.byteLength });
      const blob = await store.open(digest);
      expect(new Uint8Array(await blob!.arrayBuffer())).toEqual(bytes);
    });

    test('open with the size a link recorded serves the same bytes and ranges, small or large, and nothing once deleted', async () => {
      const store = await fresh();
      for (const length of [10, 64 * 1024]) {
        const bytes = new Uint8Array(length).map((_, i) => (i * 7) % 251);
        const digest = digestOf(bytes);
        await store.put(digest, bytes);
        for (let read = 0; read < 2; read++) {
          const blob = (await store.open(digest, length))!;
          expect(blob.size).toBe(length);
          expect(new Uint8Array(await blob.arrayBuffer())).toEqual(bytes);
          expect(new Uint8Array(await blob.slice(3, 9).arrayBuffer())).toEqual(bytes.slice(3, 9));
        }
        expect(await store.delete(digest)).toBe(true);
        // A store may trust the size for large files (the link is checked first), but never serves deleted bytes it can tell are gone.
        const after = await store.open(digest, length);
        if (after) await expect(after.arrayBuffer()).rejects.toThrow();
      }
    });

    test('an absent blob is undefined for stat and open, false for delete', async () => {
      const store = await fresh();
      const digest = digestOf('never stored');
      expect(await store.stat(digest)).toBeUndefined();
      expect(await store.open(digest)).toBeUndefined();
      expect(await store.delete(digest)).toBe(false);
    });

    test('put refuses bytes that do not match the digest and stores nothing', async () => {
      const store = await fresh();
      const digest = digestOf('something else');
      await expectCode(store.put(digest, enc('not it')), 'DIGEST_INVALID');
      expect(await store.stat(digest)).toBeUndefined();
    });

    test('open serves byte ranges through slice', async () => {
      const store = await fresh();
      const bytes = enc('0123456789');
      const digest = digestOf(bytes);
      await store.put(digest, bytes);
      const blob = (await store.open(digest))!;
      expect(await blob.slice(2, 5).text()).toBe('234');
      expect(await blob.slice(8).text()).toBe('89');
    });

    test('delete removes the blob and list no longer names it', async () => {
      const store = await fresh();
      const a = enc('a'), b = enc('b');
      await store.put(digestOf(a), a);
      await store.put(digestOf(b), b);
      expect(await store.delete(digestOf(a))).toBe(true);
      const listed: Digest[] = [];
      for await (const d of store.list()) listed.push(d);
      expect(listed).toEqual([digestOf(b)]);
    });

    test('an upload appends streams and arrays, hashing as it goes, and commits atomically', async () => {
      const store = await fresh();
      const session = await store.startUpload();
      expect(session.size).toBe(0);
      expect(await session.append(streamOf('hello', ' '))).toBe(6);
      expect(await session.append(enc('world'))).toBe(11);
      const digest = digestOf('hello world');
      expect(await store.stat(digest)).toBeUndefined();
      expect(await session.commit(digest)).toEqual({ digest, size: 11 });
      expect(await (await store.open(digest))!.text()).toBe('hello world');
    });

    test('a commit with the wrong digest fails with DIGEST_INVALID and publishes nothing', async () => {
      const store = await fresh();
      const session = await store.startUpload();
      await session.append(enc('payload'));
      const wrong = digestOf('other');
      await expectCode(session.commit(wrong), 'DIGEST_INVALID');
      expect(await store.stat(wrong)).toBeUndefined();
      expect(await store.stat(digestOf('payload'))).toBeUndefined();
    });

    test('a sha512 upload commits under its sha512 digest', async () => {
      const store = await fresh();
      const session = await store.startUpload({ algorithms: ['sha512'] });
      await session.append(enc('five twelve'));
      const digest = digestOf('five twelve', 'sha512');
      expect((await session.commit(digest)).digest).toBe(digest);
      expect((await store.stat(digest))?.size).toBe(11);
    });

    test('a sha512 digest still verifies when the session was started for sha256', async () => {
      const store = await fresh();
      const session = await store.startUpload();
      await session.append(enc('late algorithm'));
      const digest = digestOf('late algorithm', 'sha512');
      expect((await session.commit(digest)).digest).toBe(digest);
    });

    test('an append whose body is longer than announced fails and leaves the session unchanged', async () => {
      const store = await fresh();
      const session = await store.startUpload();
      await session.append(enc('keep'));
      await expectCode(session.append(streamOf('too', 'long'), 3), 'SIZE_INVALID');
      expect(session.size).toBe(4);
      await expectCode(session.append(enc('ab'), 3), 'SIZE_INVALID');
      expect(session.size).toBe(4);
      await session.append(enc('!'));
      expect((await session.commit(digestOf('keep!'))).size).toBe(5);
    });

    test('a failing body stream rolls the append back', async () => {
      const store = await fresh();
      const session = await store.startUpload();
      await session.append(enc('base'));
      const broken = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(enc('partial'));
          controller.error(new Error('client went away'));
        },
      });
      await expect(session.append(broken)).rejects.toThrow('client went away');
      expect(session.size).toBe(4);
      expect((await session.commit(digestOf('base'))).size).toBe(4);
    });

    test('resumeUpload finds an open session by id, and not a cancelled one', async () => {
      const store = await fresh();
      const session = await store.startUpload();
      await session.append(enc('part'));
      const resumed = await store.resumeUpload(session.id);
      expect(resumed?.size).toBe(4);
      await session.cancel();
      expect(await store.resumeUpload(session.id)).toBeUndefined();
      expect(await store.resumeUpload('no-such-id')).toBeUndefined();
    });

    test('cancel discards the bytes; the session can no longer be used', async () => {
      const store = await fresh();
      const session = await store.startUpload();
      await session.append(enc('discard me'));
      await session.cancel();
      await expectCode(session.commit(digestOf('discard me')), 'BLOB_UPLOAD_UNKNOWN');
      expect(await store.stat(digestOf('discard me'))).toBeUndefined();
    });

    test('concurrent commits of the same content both succeed and leave one blob', async () => {
      const store = await fresh();
      const content = enc('same bytes twice');
      const digest = digestOf(content);
      const [s1, s2] = await Promise.all([store.startUpload(), store.startUpload()]);
      await Promise.all([s1.append(content), s2.append(content)]);
      const results = await Promise.all([s1.commit(digest), s2.commit(digest)]);
      expect(results.map((r) => r.size)).toEqual([content.byteLength, content.byteLength]);
      const listed: Digest[] = [];
      for await (const d of store.list()) listed.push(d);
      expect(listed).toEqual([digest]);
      expect(await (await store.open(digest))!.text()).toBe('same bytes twice');
    });

    test('an empty upload commits the empty blob', async () => {
      const store = await fresh();
      const session = await store.startUpload();
      const digest = digestOf(new Uint8Array(0));
      expect(await session.commit(digest)).toEqual({ digest, size: 0 });
      expect((await store.stat(digest))?.size).toBe(0);
    });
  });
}
