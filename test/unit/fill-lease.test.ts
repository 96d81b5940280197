/**
 * FillLeases: which of several processes fills a mirrored blob. Two instances on one SqliteLocks file stand for two
 * nodes sharing the lock store.
 */
import { afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FillLeases, fillLockKey } from '../../src/mirror/fill-lease.ts';
import type { Digest } from '../../src/oci/digest.ts';
import { SqliteLocks } from '../../src/storage/sqlite-locks.ts';
import { tempDir } from '../helpers/registry.ts';

const DIGEST = `sha256:${'a'.repeat(64)}` as Digest;

describe('FillLeases', () => {
  const open: SqliteLocks[] = [];
  let dir = '';
  const locks = () => {
    dir ||= tempDir('marina-fill-lease-');
    const l = new SqliteLocks(path.join(dir, 'locks.sqlite'));
    open.push(l);
    return l;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((l) => l.close()));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  test('the first node fills; the second waits and is told the blob is stored once the first ends its fill', async () => {
    const a = new FillLeases(locks());
    const b = new FillLeases(locks(), { waitMs: 5000 });
    let stored = false;
    const first = await a.claim('up', DIGEST, async () => stored);
    expect(first.kind).toBe('fill');
    const lease = first.kind === 'fill' ? first.take() : undefined;
    expect(lease).toBeDefined();
    let settled = false;
    const second = b.claim('up', DIGEST, async () => stored).finally(() => (settled = true));
    await Bun.sleep(200);
    expect(settled).toBe(false);
    let finish!: () => void;
    a.hold(lease!, new Promise<void>((resolve) => (finish = resolve)));
    stored = true;
    finish();
    expect((await second).kind).toBe('stored');
  });

  test('a waiter whose holder ended without storing the blob fills itself', async () => {
    const a = new FillLeases(locks());
    const b = new FillLeases(locks(), { waitMs: 5000 });
    const first = await a.claim('up', DIGEST, async () => false);
    const lease = first.kind === 'fill' ? first.take() : undefined;
    const second = b.claim('up', DIGEST, async () => false);
    await Bun.sleep(50);
    await lease!.release();
    const claim = await second;
    expect(claim.kind).toBe('fill');
    const taken = claim.kind === 'fill' ? claim.take() : undefined;
    expect(taken).toBeDefined();
    // The lease goes to one fill only.
    expect(claim.kind === 'fill' && claim.take()).toBeUndefined();
    await taken!.release();
  });

  test('a waiter whose holder died takes over once the lease runs out', async () => {
    const store = locks();
    // A holder that never renews nor releases: a killed process.
    await store.acquire(fillLockKey('up', DIGEST), { leaseMs: 300 });
    const b = new FillLeases(locks(), { waitMs: 5000 });
    const started = performance.now();
    const claim = await b.claim('up', DIGEST, async () => false);
    expect(claim.kind).toBe('fill');
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    if (claim.kind === 'fill') await claim.take()?.release();
  });

  test('a wait past its deadline gives up and lets the caller fetch without a lease', async () => {
    const a = new FillLeases(locks());
    const first = await a.claim('up', DIGEST, async () => false);
    const b = new FillLeases(locks(), { waitMs: 200 });
    const started = performance.now();
    expect((await b.claim('up', DIGEST, async () => false)).kind).toBe('deadline');
    expect(performance.now() - started).toBeLessThan(2000);
    if (first.kind === 'fill') await first.take()?.release();
  });

  test('concurrent claims in one process share one wait and hand the lease to one caller', async () => {
    const a = new FillLeases(locks());
    const claims = await Promise.all(Array.from({ length: 5 }, () => a.claim('up', DIGEST, async () => false)));
    expect(new Set(claims).size).toBe(1);
    const leases = claims.map((c) => (c.kind === 'fill' ? c.take() : undefined)).filter(Boolean);
    expect(leases.length).toBe(1);
    await leases[0]!.release();
  });

  test('claims of different upstreams for one digest do not wait for each other', async () => {
    const a = new FillLeases(locks());
    const b = new FillLeases(locks(), { waitMs: 100 });
    const first = await a.claim('one', DIGEST, async () => false);
    const second = await b.claim('two', DIGEST, async () => false);
    expect(first.kind).toBe('fill');
    expect(second.kind).toBe('fill');
    for (const c of [first, second]) if (c.kind === 'fill') await c.take()?.release();
  });
});
