/**
 * The MirrorLedger contract: tag freshness, cached images with their blobs, sizes and access times, as the
 * pull-through mirror and its eviction read them.
 * Usage: `mirrorLedgerContract('my ledger', async () => ({ ledger, cleanup, another }))` inside a bun test file;
 * `another`, for a ledger kept outside the process, opens a second instance on the same store (another node's view).
 */
import { afterEach, describe, expect, test } from 'bun:test';
import type { MirrorLedger } from '../../src/storage/mirror-ledger.ts';

/** Makes a fresh, empty ledger; `cleanup` removes whatever it left behind. */
export type MakeMirrorLedger = () => Promise<{ ledger: MirrorLedger; cleanup?: () => Promise<void>; another?: () => MirrorLedger | Promise<MirrorLedger> }>;

const M1 = 'sha256:1111111111111111111111111111111111111111111111111111111111111111';
const M2 = 'sha256:2222222222222222222222222222222222222222222222222222222222222222';
const M3 = 'sha256:3333333333333333333333333333333333333333333333333333333333333333';
const L1 = 'sha256:aaaa111111111111111111111111111111111111111111111111111111111111';
const L2 = 'sha256:aaaa222222222222222222222222222222222222222222222222222222222222';
const L3 = 'sha256:aaaa333333333333333333333333333333333333333333333333333333333333';

/** Registers the MirrorLedger contract tests; `shared` adds the tests of a ledger several processes open (needs `another`). */
export function mirrorLedgerContract(name: string, make: MakeMirrorLedger, options: { shared?: boolean } = {}): void {
  describe(`MirrorLedger contract: ${name}`, () => {
    let cleanups: (() => Promise<void>)[] = [];
    const fresh = async () => {
      const made = await make();
      cleanups.push(async () => {
        await made.ledger.close();
        await made.cleanup?.();
      });
      return made;
    };
    afterEach(async () => {
      for (const c of cleanups.reverse()) await c();
      cleanups = [];
    });

    test('a tag remembers the digest it had upstream and when it was checked; setting it again replaces both', async () => {
      const { ledger } = await fresh();
      expect(await ledger.tag('hub/app', 'latest')).toBeUndefined();
      await ledger.setTag('hub/app', 'latest', M1, 1000);
      expect(await ledger.tag('hub/app', 'latest')).toEqual({ digest: M1, checkedAt: 1000 });
      await ledger.setTag('hub/app', 'latest', M2, 2000);
      expect(await ledger.tag('hub/app', 'latest')).toEqual({ digest: M2, checkedAt: 2000 });
      expect(await ledger.tag('hub/app', 'other')).toBeUndefined();
      expect(await ledger.tag('hub/other', 'latest')).toBeUndefined();
    });

    test('images and lone blobs count towards the total once each, however often they are added', async () => {
      const { ledger } = await fresh();
      expect(await ledger.totalBytes()).toBe(0);
      expect(await ledger.hasImage('hub/app', M1)).toBe(false);
      await ledger.addImage('hub/app', M1, 100, [L1, L2], 1000);
      await ledger.addImage('hub/app', M1, 100, [L1, L2], 2000);
      await ledger.addBlob('hub/app', L1, 5000, 1000);
      await ledger.addBlob('hub/app', L1, 5000, 3000);
      expect(await ledger.hasImage('hub/app', M1)).toBe(true);
      expect(await ledger.hasImage('hub/other', M1)).toBe(false);
      expect(await ledger.totalBytes()).toBe(5100);
      expect(await ledger.allImages()).toEqual([{ repository: 'hub/app', digest: M1, size: 100, lastAccess: 2000 }]);
    });

    test('every image is listed by repository, then digest', async () => {
      const { ledger } = await fresh();
      await ledger.addImage('hub/b', M1, 1, [], 1);
      await ledger.addImage('hub/a', M2, 2, [], 2);
      await ledger.addImage('hub/a', M1, 3, [], 3);
      expect((await ledger.allImages()).map((i) => `${i.repository}@${i.digest}`)).toEqual([`hub/a@${M1}`, `hub/a@${M2}`, `hub/b@${M1}`]);
    });

    test('least recently used images come first; an image is as recent as its newest access or its newest blob access', async () => {
      const { ledger } = await fresh();
      await ledger.addImage('hub/app', M1, 10, [L1], 1000);
      await ledger.addImage('hub/app', M2, 20, [L2], 2000);
      await ledger.addImage('hub/app', M3, 30, [L3], 3000);
      expect((await ledger.leastRecentlyUsed(10)).map((i) => i.digest)).toEqual([M1, M2, M3]);
      expect((await ledger.leastRecentlyUsed(1)).map((i) => i.digest)).toEqual([M1]);
      await ledger.touchImage('hub/app', M1, 4000);
      expect((await ledger.leastRecentlyUsed(10)).map((i) => i.digest)).toEqual([M2, M3, M1]);
      // Pulling a layer keeps its image alive.
      await ledger.addBlob('hub/app', L2, 500, 2500);
      await ledger.touchBlob('hub/app', L2, 5000);
      const order = await ledger.leastRecentlyUsed(10);
      expect(order.map((i) => i.digest)).toEqual([M3, M1, M2]);
      expect(order[2]).toEqual({ repository: 'hub/app', digest: M2, size: 20, lastAccess: 5000 });
    });

    test('touching an unknown image or blob records nothing', async () => {
      const { ledger } = await fresh();
      await ledger.touchImage('hub/app', M1, 1000);
      await ledger.touchBlob('hub/app', L1, 1000);
      await ledger.removeBlob('hub/app', L1);
      expect(await ledger.hasImage('hub/app', M1)).toBe(false);
      expect(await ledger.allImages()).toEqual([]);
      expect(await ledger.orphanBlobs(10)).toEqual([]);
      expect(await ledger.totalBytes()).toBe(0);
    });

    test('removing an image forgets it and its tags, and frees only the blobs no other image of the repository uses', async () => {
      const { ledger } = await fresh();
      await ledger.addImage('hub/app', M1, 10, [L1, L2], 1000);
      await ledger.addImage('hub/app', M2, 20, [L2], 1000);
      await ledger.addImage('hub/other', M3, 30, [L1], 1000);
      for (const blob of [L1, L2]) await ledger.addBlob('hub/app', blob, 1000, 1000);
      await ledger.addBlob('hub/other', L1, 1000, 1000);
      await ledger.setTag('hub/app', 'v1', M1, 1000);
      await ledger.setTag('hub/app', 'v2', M2, 1000);
      expect(await ledger.totalBytes()).toBe(60 + 3000);

      expect(await ledger.removeImage('hub/app', M1)).toEqual([{ digest: L1 }]);
      expect(await ledger.hasImage('hub/app', M1)).toBe(false);
      expect(await ledger.tag('hub/app', 'v1')).toBeUndefined();
      expect(await ledger.tag('hub/app', 'v2')).toEqual({ digest: M2, checkedAt: 1000 });
      // L1 went from hub/app only; hub/other keeps its own record of the same digest.
      expect(await ledger.totalBytes()).toBe(50 + 2000);
      expect(await ledger.removeImage('hub/app', M2)).toEqual([{ digest: L2 }]);
      expect(await ledger.totalBytes()).toBe(30 + 1000);
      expect(await ledger.removeImage('hub/app', M2)).toEqual([]);
    });

    test('lone blobs are those no cached image references, least recently used first, until removed', async () => {
      const { ledger } = await fresh();
      await ledger.addImage('hub/app', M1, 10, [L1], 1000);
      await ledger.addBlob('hub/app', L1, 100, 1000);
      await ledger.addBlob('hub/app', L2, 200, 3000);
      await ledger.addBlob('hub/other', L3, 300, 2000);
      expect(await ledger.orphanBlobs(10)).toEqual([
        { repository: 'hub/other', digest: L3, size: 300 },
        { repository: 'hub/app', digest: L2, size: 200 },
      ]);
      expect(await ledger.orphanBlobs(1)).toEqual([{ repository: 'hub/other', digest: L3, size: 300 }]);
      await ledger.touchBlob('hub/other', L3, 4000);
      expect((await ledger.orphanBlobs(1))[0]!.digest).toBe(L2);
      await ledger.removeBlob('hub/app', L2);
      expect(await ledger.orphanBlobs(10)).toEqual([{ repository: 'hub/other', digest: L3, size: 300 }]);
      expect(await ledger.totalBytes()).toBe(10 + 100 + 300);
    });

    if (options.shared) {
      test('a second instance on the same store sees every change at once, and a reopened one finds what was left', async () => {
        const made = await fresh();
        if (!made.another) throw new Error('the shared-ledger tests need `another` from the factory');
        const other = await made.another();
        try {
          await made.ledger.addImage('hub/app', M1, 10, [L1], 1000);
          await other.addBlob('hub/app', L1, 100, 1000);
          await other.setTag('hub/app', 'latest', M1, 1500);
          expect(await other.hasImage('hub/app', M1)).toBe(true);
          expect(await made.ledger.totalBytes()).toBe(110);
          expect(await made.ledger.tag('hub/app', 'latest')).toEqual({ digest: M1, checkedAt: 1500 });
          await other.touchImage('hub/app', M1, 9000);
          expect((await made.ledger.leastRecentlyUsed(1))[0]!.lastAccess).toBe(9000);
        } finally {
          await other.close();
        }
        const reopened = await made.another();
        try {
          expect(await reopened.allImages()).toEqual([{ repository: 'hub/app', digest: M1, size: 10, lastAccess: 9000 }]);
          expect(await reopened.removeImage('hub/app', M1)).toEqual([{ digest: L1 }]);
          expect(await made.ledger.totalBytes()).toBe(0);
        } finally {
          await reopened.close();
        }
      });
    }
  });
}
