/**
 * The Locks contract: mutual exclusion by key with bounded waits and leases that run out. Implementations shared
 * by several processes also pass the cross-process part, which runs real second processes (`peer`).
 * Usage: `locksContract('my locks', async () => ({ locks, cleanup, peer }))` inside a bun test file.
 */
import { afterEach, describe, expect, test } from 'bun:test';
import { LockLostError, LockTimeoutError } from '../../src/storage/locks.ts';
import type { Lease, Locks } from '../../src/storage/types.ts';

/**
 * Makes fresh locks on an empty store. `peer`, for locks shared across processes, is the command line of a process
 * that takes the same store's `key` `rounds` times for `holdMs` each and prints JSON lines
 * `{"event":"acquired"|"released","start","end"}` (see test/support/lock-peer.ts).
 */
export type MakeLocks = () => Promise<{
  locks: Locks;
  cleanup?: () => Promise<void>;
  peer?: (args: { key: string; leaseMs: number; holdMs: number; rounds: number }) => string[];
}>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (e: unknown) => e);
}

/** Registers the Locks contract tests; `crossProcess` adds the tests with real second processes (needs `peer`). */
export function locksContract(name: string, make: MakeLocks, options: { crossProcess?: boolean } = {}): void {
  describe(`Locks contract: ${name}`, () => {
    let cleanups: (() => Promise<void>)[] = [];
    const fresh = async () => {
      const made = await make();
      cleanups.push(async () => {
        await made.locks.close();
        await made.cleanup?.();
      });
      return made;
    };
    afterEach(async () => {
      for (const c of cleanups.reverse()) await c();
      cleanups = [];
    });

    test('a second acquire of a key waits until the holder releases it; other keys do not wait', async () => {
      const { locks } = await fresh();
      const first = await locks.acquire('k');
      let second: Lease | undefined;
      const waiting = locks.acquire('k', { waitMs: 5000 }).then((l) => (second = l));
      const other = await locks.acquire('other', { waitMs: 100 });
      await sleep(30);
      expect(second).toBeUndefined();
      await first.release();
      await waiting;
      expect(second!.key).toBe('k');
      second!.check();
      await second!.release();
      await other.release();
    });

    test('waiters are served one at a time and run never overlaps for one key', async () => {
      const { locks } = await fresh();
      let inside = 0;
      let most = 0;
      const order: number[] = [];
      await Promise.all(Array.from({ length: 6 }, (_, i) => locks.run('k', async () => {
        inside++;
        most = Math.max(most, inside);
        await sleep(3);
        order.push(i);
        inside--;
      }, { waitMs: 5000 })));
      expect(most).toBe(1);
      expect(order.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    });

    test('a waiter past its deadline fails with LockTimeoutError at the deadline, and the holder keeps the key', async () => {
      const { locks } = await fresh();
      const holder = await locks.acquire('k');
      const started = Date.now();
      const error = await rejection(locks.acquire('k', { waitMs: 80 }));
      const waited = Date.now() - started;
      expect(error).toBeInstanceOf(LockTimeoutError);
      expect((error as LockTimeoutError).code).toBe('TOOMANYREQUESTS');
      expect(waited).toBeGreaterThanOrEqual(75);
      expect(waited).toBeLessThan(2000);
      holder.check();
      expect(await locks.tryAcquire('k')).toBeUndefined();
      await holder.release();
      const next = await locks.acquire('k', { waitMs: 100 });
      await next.release();
    });

    test('a waiter that gives up leaves the others queued, and they are served in turn', async () => {
      const { locks } = await fresh();
      const holder = await locks.acquire('k');
      const served: string[] = [];
      const first = locks.acquire('k', { waitMs: 5000 }).then((l) => (served.push('first'), l));
      const quitter = rejection(locks.acquire('k', { waitMs: 40 }));
      const last = locks.acquire('k', { waitMs: 5000 }).then((l) => (served.push('last'), l));
      expect(await quitter).toBeInstanceOf(LockTimeoutError);
      expect(served).toEqual([]);
      await holder.release();
      const lease = await first;
      await sleep(20);
      expect(served).toEqual(['first']);
      await lease.release();
      await (await last).release();
      expect(served).toEqual(['first', 'last']);
    });

    test('tryRun runs only when the key is free, and never waits', async () => {
      const { locks } = await fresh();
      const holder = await locks.acquire('k');
      const started = Date.now();
      expect(await locks.tryRun('k', async () => 'ran')).toEqual({ ran: false });
      expect(Date.now() - started).toBeLessThan(500);
      await holder.release();
      expect(await locks.tryRun('k', async () => 'ran')).toEqual({ ran: true, value: 'ran' });
      expect(await locks.tryRun('k', async () => 'again')).toEqual({ ran: true, value: 'again' });
    });

    test('run releases the key when its function throws', async () => {
      const { locks } = await fresh();
      await expect(locks.run('k', async () => {
        throw new Error('boom');
      })).rejects.toThrow('boom');
      expect(await locks.tryRun('k', async () => 1)).toEqual({ ran: true, value: 1 });
    });

    test('a lease that runs out lets a waiter in; the old holder finds out, and its release frees nothing of the new one', async () => {
      const { locks } = await fresh();
      const stale = await locks.acquire('k', { leaseMs: 60 });
      const started = Date.now();
      const fresh2 = await locks.acquire('k', { waitMs: 5000 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(50);
      expect(() => stale.check()).toThrow(LockLostError);
      expect(await rejection(stale.renew())).toBeInstanceOf(LockLostError);
      await stale.release();
      fresh2.check();
      expect(await locks.tryAcquire('k')).toBeUndefined();
      await fresh2.release();
    });

    test('a holder that stalls past its lease finds out at check() even when nobody took the key', async () => {
      const { locks } = await fresh();
      const lease = await locks.acquire('k', { leaseMs: 30 });
      await sleep(50);
      expect(() => lease.check()).toThrow(LockLostError);
      await lease.release();
    });

    test('renew extends the lease, and run renews it while its function runs', async () => {
      const { locks } = await fresh();
      const lease = await locks.acquire('k', { leaseMs: 80 });
      for (let i = 0; i < 4; i++) {
        await sleep(40);
        await lease.renew();
        lease.check();
      }
      expect(await locks.tryAcquire('k')).toBeUndefined();
      await lease.release();

      const value = await locks.run('r', async (held) => {
        await sleep(400);
        expect(await locks.tryAcquire('r')).toBeUndefined();
        held.check();
        return 'kept';
      }, { leaseMs: 150 });
      expect(value).toBe('kept');
    });

    test('release is idempotent', async () => {
      const { locks } = await fresh();
      const lease = await locks.acquire('k');
      await lease.release();
      await lease.release();
      const again = (await locks.tryAcquire('k'))!;
      expect(again).toBeDefined();
      await lease.release();
      expect(await locks.tryAcquire('k')).toBeUndefined();
      await again.release();
    });

    if (options.crossProcess) describe('across processes', () => {
      test('two processes contending for one key never hold it at once, and a third waits its turn', async () => {
        const made = await fresh();
        const peer = peerOf(made);
        const peers = [0, 1].map(() => spawnPeer(peer({ key: 'shared', leaseMs: 2000, holdMs: 15, rounds: 6 })));
        const mine: { start: number; end: number }[] = [];
        for (let i = 0; i < 4; i++) {
          await made.locks.run('shared', async () => {
            const start = Date.now();
            await sleep(10);
            mine.push({ start, end: Date.now() });
          }, { leaseMs: 2000, waitMs: 20_000 });
        }
        const theirs = (await Promise.all(peers.map((p) => p.finished()))).flat();
        expect(theirs).toHaveLength(12);
        expect(new Set(theirs.map((t) => t.pid)).size).toBe(2);
        const all = [...mine, ...theirs].sort((a, b) => a.start - b.start);
        for (let i = 1; i < all.length; i++) expect(all[i]!.start).toBeGreaterThanOrEqual(all[i - 1]!.end);
      }, 30_000);

      test('a holder killed with SIGKILL blocks others only until its lease runs out', async () => {
        const made = await fresh();
        // Long enough that a peer starved of CPU on a busy machine still renews in time before the kill.
        const leaseMs = 1500;
        const peer = spawnPeer(peerOf(made)({ key: 'victim', leaseMs, holdMs: 60_000, rounds: 1 }));
        try {
          await peer.acquired();
          expect(await made.locks.tryAcquire('victim')).toBeUndefined();
          expect(await rejection(made.locks.acquire('victim', { waitMs: 50 }))).toBeInstanceOf(LockTimeoutError);
          peer.proc.kill('SIGKILL');
          await peer.proc.exited;
          const killed = Date.now();
          // Death alone frees nothing: the lease still counts (its last renewal was at most a third of it ago).
          expect(await made.locks.tryAcquire('victim')).toBeUndefined();
          const lease = await made.locks.acquire('victim', { waitMs: 10_000 });
          const waited = Date.now() - killed;
          expect(waited).toBeLessThanOrEqual(leaseMs + 1000);
          lease.check();
          await lease.release();
        } finally {
          peer.proc.kill('SIGKILL');
        }
      }, 30_000);
    });
  });
}

function peerOf(made: Awaited<ReturnType<MakeLocks>>): NonNullable<Awaited<ReturnType<MakeLocks>>['peer']> {
  if (!made.peer) throw new Error('the cross-process tests need `peer` from the factory');
  return made.peer;
}

interface PeerRun {
  pid: number;
  start: number;
  end: number;
}

/** Starts a peer process and reads its JSON lines as they come. */
function spawnPeer(command: string[]) {
  const proc = Bun.spawn(command, { stdout: 'pipe', stderr: 'pipe' });
  const lines: { event: string; pid: number; start: number; end: number }[] = [];
  let notify: () => void = () => {};
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of proc.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buffered.slice(0, newline)));
        buffered = buffered.slice(newline + 1);
        notify();
      }
    }
  })();
  return {
    proc,
    /** Resolves once the peer holds the key (bounded: 10 s). */
    async acquired(): Promise<void> {
      const deadline = Date.now() + 10_000;
      while (!lines.some((l) => l.event === 'acquired')) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`peer did not take the lock: ${await new Response(proc.stderr).text()}`);
        await new Promise<void>((resolve) => {
          notify = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
    /** Waits for the peer to exit and returns its hold intervals. */
    async finished(): Promise<PeerRun[]> {
      const code = await proc.exited;
      await reading;
      if (code !== 0) throw new Error(`peer exited with ${code}: ${await new Response(proc.stderr).text()}`);
      return lines.filter((l) => l.event === 'released').map(({ pid, start, end }) => ({ pid, start, end }));
    },
  };
}
