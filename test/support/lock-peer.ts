/**
 * A second process for the cross-process lock tests: takes `key` in the host locks of `file` `rounds` times,
 * holding it `holdMs` each time, and prints one JSON line per event (`acquired`, `released`) with its times.
 * Usage: bun test/support/lock-peer.ts <locks.sqlite> <key> <leaseMs> <holdMs> <rounds>
 */
import { SqliteLocks } from '../../src/storage/sqlite-locks.ts';

const [file, key, leaseMs, holdMs, rounds] = process.argv.slice(2);
if (!file || !key) throw new Error('usage: lock-peer.ts <locks.sqlite> <key> <leaseMs> <holdMs> <rounds>');
const locks = new SqliteLocks(file);
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
