/**
 * A read-only registry preloaded from an OCI image layout directory: import with a writable registry over the
 * stores, then serve the same stores read-only, so pushes and deletes answer 405.
 * Run: PORT=5000 LAYOUT=./my-layout REPOSITORY=library/app bun examples/read-only-layout/main.ts
 */
import { createRegistry, importLayout, memoryStorage } from '../../src/index.ts';

const layout = process.env.LAYOUT;
if (!layout) throw new Error('set LAYOUT to an OCI image layout directory');
const repository = process.env.REPOSITORY ?? 'library/app';

const storage = memoryStorage();
const loader = createRegistry({ storage });
const report = await importLayout(loader, layout, repository, (message) => console.log(message));
console.log(`imported ${report.manifests} manifests, ${report.blobs} blobs, tags: ${report.tags.join(', ') || '(none)'}`);

const registry = createRegistry({ storage, readOnly: true });
const server = Bun.serve({ hostname: '127.0.0.1', port: Number(process.env.PORT ?? 5000), fetch: registry.fetch });
console.log(`read-only-layout example listening on http://127.0.0.1:${server.port}`);
