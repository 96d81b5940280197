/**
 * Every process this one started, directly or not (servers, SeaweedFS, load generators), found through /proc, so
 * the harness can stop all of them on any exit — including ones a phase started and had no chance to stop.
 */
import * as fs from 'node:fs';

/** Pids of the living descendants of `root` (children first), read from /proc/<pid>/stat. */
export function descendants(root = process.pid): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z') continue;
    const parent = Number(ppid);
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/**
 * SIGTERM to every descendant of `root`, then SIGKILL to any still there after `graceMs` (at most). Returns the
 * pids it signalled.
 */
export async function killDescendants(root = process.pid, graceMs = 3000): Promise<number[]> {
  const pids = descendants(root);
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = performance.now() + graceMs;
  let left = pids.filter(alive);
  while (left.length && performance.now() < deadline) {
    await Bun.sleep(20);
    left = left.filter(alive);
  }
  // A process started while the others stopped is caught here too.
  for (const pid of [...new Set([...left, ...descendants(root)])]) signal(pid, 'SIGKILL');
  return pids;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** True while the process exists and is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
