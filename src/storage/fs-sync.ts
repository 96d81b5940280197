/** fsync and errno helpers for the filesystem blob store: files, directories, and directories a commit created. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** After `mkdirSync(recursive)` created `first` (and maybe one level below it): makes those new entries durable. */
export function fsyncCreatedSync(first: string): void {
  for (const dir of [path.dirname(first), first]) {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

export function fsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

export async function fsyncDir(dir: string): Promise<void> {
  const fd = fs.openSync(dir, 'r');
  try {
    await fsync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** True for ENOENT. */
export function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}
