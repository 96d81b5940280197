/** The harness finds and stops every process it started, children of children included. */
import { expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { descendants, killDescendants } from '../../bench/lib/descendants.ts';

const running = (pid: number) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
};

test('descendants lists grandchildren, and killDescendants stops them all (SIGKILL for one that ignores SIGTERM)', async () => {
  // A shell with two sleeping children, one of which ignores SIGTERM; the shell itself waits for them.
  const shell = Bun.spawn(['sh', '-c', "sleep 30 & (trap '' TERM; exec sleep 31) & wait"], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' });
  try {
    let found: number[] = [];
    for (let i = 0; i < 100 && found.length < 2; i++) {
      await Bun.sleep(20);
      found = descendants(shell.pid);
    }
    expect(found).toHaveLength(2);
    expect(descendants()).toEqual(expect.arrayContaining([shell.pid, ...found]));
    const t0 = performance.now();
    const signalled = await killDescendants(shell.pid, 500);
    expect(signalled.sort()).toEqual(found.sort());
    await Bun.sleep(100);
    expect(found.filter(running)).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(3000);
  } finally {
    shell.kill('SIGKILL');
    await shell.exited;
  }
});
