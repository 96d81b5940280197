/**
 * A second process on an LMDB index, for index-open-race.test.ts. `write <dir> <ms>`: 16 concurrent loops link
 * blobs for `ms`, then print each loop's count of acknowledged (resolved) links as JSON. `open <dir>`: opens the
 * index as Marina's commands do, reads once, closes; `open-ro <dir>`: the same, read-only, with lmdb-js directly. `check <dir> <counts>`: prints how many acknowledged links are missing.
 */
import { LmdbIndex } from '../../src/storage/lmdb-index.ts';
import { LmdbOpenGate } from '../../src/storage/lmdb-open-gate.ts';
import type { Digest } from '../../src/oci/digest.ts';

const [mode, dir, arg] = process.argv.slice(2);
const digest = (loop: number, i: number) => `sha256:${loop.toString(16).padStart(4, '0')}${i.toString(16).padStart(60, '0')}` as Digest;

if (mode === 'open-ro') {
  // A read-only reader of the index (a backup or inspection script) keeps the gate's rule too. Without the gate,
  // these opens alone lost 16–64 of ~70k acknowledged links per 8 s run (measured).
  const { open } = await import('lmdb');
  const root = LmdbOpenGate.whileOpening(`${dir}/open-gate.sqlite`, () => open({ path: `${dir}/index.mdb`, maxDbs: 16, readOnly: true }));
  root.openDB({ name: 'links' }).get(['race/app']);
  await root.close();
  process.exit(0);
}
const index = new LmdbIndex({ dir: dir! });
if (mode === 'write') {
  const end = Date.now() + Number(arg);
  const counts = await Promise.all(
    Array.from({ length: 16 }, async (_, loop) => {
      let acknowledged = 0;
      while (Date.now() < end) {
        await index.linkBlob('race/app', digest(loop, acknowledged), undefined, 1);
        acknowledged++;
      }
      return acknowledged;
    }),
  );
  console.log(JSON.stringify(counts));
} else if (mode === 'open') {
  index.hasBlob('race/app', digest(0, 0));
} else if (mode === 'check') {
  const counts = JSON.parse(arg!) as number[];
  let missing = 0;
  counts.forEach((n, loop) => {
    for (let i = 0; i < n; i++) if (!index.hasBlob('race/app', digest(loop, i))) missing++;
  });
  console.log(JSON.stringify({ missing, acknowledged: counts.reduce((a, b) => a + b, 0) }));
}
await index.close();
