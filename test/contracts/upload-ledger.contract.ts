/**
 * The UploadLedger contract: which repository owns which open upload, and when it was last touched.
 * Usage: `uploadLedgerContract('my ledger', async () => ({ ledger, cleanup, another }))` inside a bun test file;
 * `another`, for a ledger kept outside the process, opens a second instance on the same store (another process's view).
 */
import { afterEach, describe, expect, test } from 'bun:test';
import type { UploadEntry, UploadLedger } from '../../src/storage/types.ts';

/** Makes a fresh, empty ledger; `cleanup` removes whatever it left behind. */
export type MakeUploadLedger = () => Promise<{ ledger: UploadLedger; cleanup?: () => Promise<void>; another?: () => UploadLedger }>;

const entry = (id: string, repository: string, at: number): UploadEntry => ({ id, repository, startedAt: at, touchedAt: at });

/** A call's outcome as a promise, whether the implementation throws at once or rejects later. */
const settled = async <T>(call: () => T | Promise<T>): Promise<T> => call();

/** Registers the UploadLedger contract tests; `shared` adds the tests of a ledger several processes open (needs `another`). */
export function uploadLedgerContract(name: string, make: MakeUploadLedger, options: { shared?: boolean } = {}): void {
  describe(`UploadLedger contract: ${name}`, () => {
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

    test('an added session is found by id with its repository and times; an unknown id is undefined', async () => {
      const { ledger } = await fresh();
      await ledger.add({ id: 'u1', repository: 'team/app', startedAt: 1000, touchedAt: 1500 });
      expect(await ledger.get('u1')).toEqual({ id: 'u1', repository: 'team/app', startedAt: 1000, touchedAt: 1500 });
      expect(await ledger.get('u2')).toBeUndefined();
    });

    test('adding an id twice throws and keeps the first entry', async () => {
      const { ledger } = await fresh();
      await ledger.add(entry('u1', 'a', 1000));
      await expect(settled(() => ledger.add(entry('u1', 'b', 2000)))).rejects.toThrow();
      expect((await ledger.get('u1'))?.repository).toBe('a');
      expect(await ledger.count()).toBe(1);
    });

    test('an entry handed out is a copy: changing it changes nothing stored', async () => {
      const { ledger } = await fresh();
      const added = entry('u1', 'a', 1000);
      await ledger.add(added);
      added.repository = 'changed';
      const got = (await ledger.get('u1'))!;
      got.touchedAt = 9999;
      expect(await ledger.get('u1')).toEqual(entry('u1', 'a', 1000));
    });

    test('touch moves the last-touched time only; touching an unknown id does nothing', async () => {
      const { ledger } = await fresh();
      await ledger.add(entry('u1', 'a', 1000));
      await ledger.touch('u1', 5000);
      expect(await ledger.get('u1')).toEqual({ id: 'u1', repository: 'a', startedAt: 1000, touchedAt: 5000 });
      await ledger.touch('nobody', 5000);
      expect(await ledger.get('nobody')).toBeUndefined();
      expect(await ledger.count()).toBe(1);
    });

    test('remove forgets a session; removing an unknown id does nothing', async () => {
      const { ledger } = await fresh();
      await ledger.add(entry('u1', 'a', 1000));
      await ledger.add(entry('u2', 'a', 1000));
      await ledger.remove('u1');
      await ledger.remove('u1');
      await ledger.remove('nobody');
      expect(await ledger.get('u1')).toBeUndefined();
      expect(await ledger.get('u2')).toBeDefined();
      expect(await ledger.count()).toBe(1);
    });

    test('idleSince lists the sessions last touched strictly before the cutoff', async () => {
      const { ledger } = await fresh();
      await ledger.add(entry('old', 'a', 1000));
      await ledger.add(entry('edge', 'a', 2000));
      await ledger.add(entry('new', 'b', 3000));
      await ledger.add(entry('revived', 'b', 500));
      await ledger.touch('revived', 4000);
      expect((await ledger.idleSince(2000)).map((e) => e.id)).toEqual(['old']);
      expect((await ledger.idleSince(2001)).map((e) => e.id).sort()).toEqual(['edge', 'old']);
      expect((await ledger.idleSince(Number.MAX_SAFE_INTEGER)).map((e) => e.id).sort()).toEqual(['edge', 'new', 'old', 'revived']);
      expect(await ledger.idleSince(0)).toEqual([]);
      expect(await ledger.idleSince(1500)).toEqual([entry('old', 'a', 1000)]);
    });

    test('count counts all sessions or those of one repository, without confusing names that share a prefix', async () => {
      const { ledger } = await fresh();
      expect(await ledger.count()).toBe(0);
      await ledger.add(entry('u1', 'repo', 1));
      await ledger.add(entry('u2', 'repo', 1));
      await ledger.add(entry('u3', 'repo2', 1));
      expect(await ledger.count()).toBe(3);
      expect(await ledger.count('repo')).toBe(2);
      expect(await ledger.count('repo2')).toBe(1);
      expect(await ledger.count('rep')).toBe(0);
      await ledger.remove('u2');
      expect(await ledger.count('repo')).toBe(1);
    });

    if (options.shared) {
      test('a second instance on the same store sees every change at once, and a reopened one finds the sessions left', async () => {
        const made = await fresh();
        if (!made.another) throw new Error('the shared-ledger tests need `another` from the factory');
        const other = made.another();
        try {
          await made.ledger.add(entry('u1', 'a', 1000));
          expect(await other.get('u1')).toEqual(entry('u1', 'a', 1000));
          await other.touch('u1', 7000);
          await other.add(entry('u2', 'b', 2000));
          expect((await made.ledger.get('u1'))?.touchedAt).toBe(7000);
          expect(await made.ledger.count()).toBe(2);
          await expect(settled(() => other.add(entry('u1', 'c', 1)))).rejects.toThrow();
          await made.ledger.remove('u2');
          expect(await other.get('u2')).toBeUndefined();
        } finally {
          await other.close();
        }
        const reopened = made.another();
        try {
          expect(await reopened.idleSince(Number.MAX_SAFE_INTEGER)).toEqual([{ id: 'u1', repository: 'a', startedAt: 1000, touchedAt: 7000 }]);
        } finally {
          await reopened.close();
        }
      });
    }
  });
}
