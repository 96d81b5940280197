/**
 * A second process for the cross-process lock tests: takes `key` in the locks of `file` (host or PostgreSQL) `rounds` times,
 * holding it `holdMs` each time, and prints one JSON line per event (`acquired`, `released`) with its times.
 * Usage: bun test/support/lock-peer.ts <locks.sqlite | postgres://…> <key> <leaseMs> <holdMs> <rounds>
 * (a postgres:// URL takes the node-shared locks of that database instead of a host's file).
 */
import { openPg } from '../../src/storage/pg-connect.ts';
import { PgLocks } from '../../src/storage/pg-locks.ts';
import { SqliteLocks } from '../../src/storage/sqlite-locks.ts';
import type { Locks } from '../../src/storage/types.ts';

const [file, key, leaseMs, holdMs, rounds] = process.argv.slice(2);
if (!file || !key) throw new Error('usage: lock-peer.ts <locks.sqlite | postgres://…> <key> <leaseMs> <holdMs> <rounds>');
let locks: Locks;
if (file.startsWith('postgres://')) {
  const sql = openPg({ url: file, max: 2 });
  locks = new PgLocks(sql, () => sql.close({ timeout: 1 }));
} else {
  locks = new SqliteLocks(file);
}
for (let round = 0; round < Number(rounds ?? 1); round++) {
  await locks.run(key, async (lease) => {
    const start = Date.now();
    console.log(JSON.stringify({ event: 'acquired', pid: process.pid, start }));
    await Bun.sleep(Number(holdMs));
    lease.check();
    console.log(JSON.stringify({ event: 'released', pid: process.pid, start, end: Date.now() }));
  }, { leaseMs: Number(leaseMs), waitMs: 20_000 });
}
await locks.close();
