import { open } from 'lmdb';
const root = open({ path: process.argv[2] + '/index.mdb', maxDbs: 16, mapSize: 2 ** 34 });
const db = root.openDB({ name: 'x', encoding: 'binary' });
const known = new Map<Promise<unknown>, string>();
process.on('unhandledRejection', (r: any, p) => { console.log('UNHANDLED', r?.message, known.get(p) ?? 'unknown promise', Object.keys(r ?? {})); });
let i = 0;
try {
  for (; i < 10000; i++) {
    const t = root.transaction(() => { db.put(['k', i], new Uint8Array(256 * 1024)); });
    known.set(t, 'txn'); 
    await t;
    const f = root.flushed; known.set(f, 'flushed');
    await f;
  }
} catch (e: any) { console.log('CAUGHT', i, e?.message); e.commitError?.catch((x: any) => console.log('commitError', x?.message, x?.code)); }
await Bun.sleep(500);
console.log('end');
