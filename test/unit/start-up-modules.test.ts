/**
 * A registry on the embedded default (filesystem blobs + LMDB) starts without loading what it does not use: the S3
 * and PostgreSQL stores, and prom-client's default metrics until the first scrape. Each is milliseconds of every
 * cold start. Checked in a fresh process through `require.cache` (Bun lists ES modules there too).
 */
import { expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/registry.ts';

const SRC = path.resolve(import.meta.dir, '../../src');

async function loadedAfter(script: string): Promise<string[]> {
  const dir = tempDir('marina-startup-');
  try {
    const file = path.join(dir, 'probe.ts');
    fs.writeFileSync(file, `${script}\nconsole.log(JSON.stringify(Object.keys(require.cache)));\nprocess.exit(0);\n`);
    const proc = Bun.spawn([process.execPath, file], { cwd: dir, stdout: 'pipe', stderr: 'pipe', env: { ...process.env, DATA: path.join(dir, 'data') } });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ code, err }).toMatchObject({ code: 0 });
    return JSON.parse(out.trim().split('\n').at(-1)!) as string[];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('opening the default storage loads no S3 or PostgreSQL store module', async () => {
  const loaded = await loadedAfter(`
    import { openStorage } from '${SRC}/cli/storage-config.ts';
    await openStorage({ data: process.env.DATA, sync: true } as never);
  `);
  expect(loaded.some((m) => m.includes('/src/storage/lmdb-index.ts'))).toBe(true);
  expect(loaded.filter((m) => /\/src\/storage\/(s3|pg)-/.test(m))).toEqual([]);
}, 30_000);

test("prom-client's default metrics load at the first scrape, not when the metrics are created", async () => {
  const loaded = await loadedAfter(`
    import { Metrics } from '${SRC}/ops/metrics.ts';
    const metrics = new Metrics();
    (globalThis as any).before = Object.keys(require.cache).filter((m) => m.includes('defaultMetrics'));
    const text = await metrics.render();
    if (!text.includes('process_cpu_user_seconds_total')) throw new Error('no default metrics in the exposition');
    if ((globalThis as any).before.length) throw new Error('default metrics loaded before the scrape');
  `);
  expect(loaded.some((m) => m.includes('defaultMetrics'))).toBe(true);
}, 30_000);
