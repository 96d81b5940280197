/**
 * A registry on the filesystem + LMDB stores whose blob store counts bytes served, reported at /stats.
 * Run: PORT=5000 DATA=./data bun examples/counting-blob-store/main.ts
 */
import { Elysia } from 'elysia';
import { createRegistry, fsStorage } from '../../src/index.ts';
import { CountingBlobStore } from './counting-blob-store.ts';

const base = fsStorage({ root: process.env.DATA ?? './data' });
const blobs = new CountingBlobStore(base.blobs);
const registry = createRegistry({ storage: { ...base, blobs } });
const app = new Elysia().use(registry.plugin).get('/stats', () => ({ blobsServed: blobs.blobsServed, bytesServed: blobs.bytesServed }));
const server = Bun.serve({ hostname: '127.0.0.1', port: Number(process.env.PORT ?? 5000), fetch: app.fetch, maxRequestBodySize: Number.MAX_SAFE_INTEGER });
console.log(`counting-blob-store example listening on http://127.0.0.1:${server.port}`);
