/**
 * A blob commit that creates `blobs/<alg>/` or `blobs/<alg>/<aa>/` must make those new directory entries durable
 * too. A power cut cannot be simulated here, so a probe process (dir-sync-probe.ts) records which paths the store
 * fsyncs, with node:fs spied on and the real file system underneath.
 */
import { afterAll, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/registry.ts';

const root = tempDir('marina-dirsync-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('a commit that creates blobs/<alg>/<aa>/ fsyncs the new directories and their parents; a later one only the leaf', async () => {
  const probe = Bun.spawnSync([process.execPath, path.join(import.meta.dir, 'dir-sync-probe.ts'), root], { stderr: 'pipe' });
  expect(probe.stderr.toString()).toBe('');
  const { first, second, dir } = JSON.parse(probe.stdout.toString()) as { first: string[]; second: string[]; dir: string };
  const blobs = path.join(root, 'blobs');
  expect(first).toContain(dir);
  expect(first).toContain(path.join(blobs, 'sha256'));
  expect(first).toContain(blobs);
  // Same <aa>/ again: the directories exist, so only the file (in uploads/) and the leaf directory are synced.
  expect(second.filter((p) => !p.includes('/uploads/'))).toEqual([dir]);
});
