/**
 * Names of fill spool files, and the sweep of the ones a crashed process left behind. A spool file is named for the
 * process and mirror instance that writes it (`fill-<pid>-<instance>-…`), so at start a mirror can tell a leftover
 * from a live fill of another process sharing the directory (a `marina cache` run beside the server): files of a
 * dead pid, or of our own pid but another instance (a container restarts its server as pid 1 again), are leftovers.
 * Files of another live pid stay; the upload purge removes anything untouched for a day anyway.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Digest } from '../oci/digest.ts';

// Instances alive in this process (two registries on one directory in one process must not sweep each other).
const LIVE_INSTANCES = new Set<string>();

const SPOOL_NAME = /^fill-(\d{1,10})-([0-9a-f]{8})-/;

/** One mirror's spool: where its fills write, named so a later process can sweep them after a crash. */
export class Spool {
  private readonly instance = crypto.randomUUID().slice(0, 8);

  constructor(readonly dir: string) {
    LIVE_INSTANCES.add(this.instance);
  }

  /** A fresh spool file path for a fill of `digest`. */
  file(digest: Digest): string {
    return path.join(this.dir, `fill-${process.pid}-${this.instance}-${digest.replace(':', '-')}-${crypto.randomUUID()}`);
  }

  /** Removes spool files of processes (or instances of this process) that are gone; returns how many. */
  sweep(): number {
    let removed = 0;
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return 0;
    }
    for (const name of names) {
      const m = SPOOL_NAME.exec(name);
      if (!m) continue;
      const pid = Number(m[1]);
      const gone = pid === process.pid ? !LIVE_INSTANCES.has(m[2]!) : !alive(pid);
      if (!gone) continue;
      fs.rmSync(path.join(this.dir, name), { force: true });
      removed++;
    }
    return removed;
  }

  /** This instance is closing: a later sweep in this process may remove its files. */
  close(): void {
    LIVE_INSTANCES.delete(this.instance);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
