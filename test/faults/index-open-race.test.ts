/**
 * Opening the index in another process while a process commits must not undo acknowledged writes (lmdb-js resets
 * the lock file's transaction id on every open; lmdb-open-gate.ts keeps the two apart). Real processes: one writing
 * as fast as it can, others opening the same index back to back, as `marina fsck`, `gc` or a restarted worker do.
 */
import { describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const PEER = path.join(import.meta.dir, 'index-open-peer.ts');

async function peer(...args: string[]): Promise<string> {
  const child = Bun.spawn([process.execPath, PEER, ...args], { stdout: 'pipe', stderr: 'pipe' });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`index-open-peer ${args[0]} exited ${code}: ${err.slice(-2000)}`);
  return out.trim();
}

describe('the index opened by a second process while a server commits', () => {
  test('keeps every acknowledged write: 16 writers for 8 s, another process opening the index back to back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-open-race-'));
    try {
      await peer('open', dir); // create the environment first, so the writer is not the one creating it
      const writer = peer('write', dir, '8000');
      let writing = true;
      void writer.finally(() => (writing = false)).catch(() => {});
      let opens = 0;
      await Bun.sleep(300);
      while (writing && opens < 400) {
        await peer(opens % 2 ? 'open' : 'open-ro', dir);
        opens++;
      }
      const counts = JSON.parse(await writer) as number[];
      const { missing, acknowledged } = JSON.parse(await peer('check', dir, JSON.stringify(counts)));
      console.log(`index open race: ${opens} opens during ${acknowledged} acknowledged links; ${missing} missing`);
      expect(opens).toBeGreaterThan(5);
      expect(acknowledged).toBeGreaterThan(1000);
      expect(missing).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
