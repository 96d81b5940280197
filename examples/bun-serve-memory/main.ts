/**
 * The smallest host: Bun.serve with the registry's plain fetch handler and in-memory storage.
 * Run: PORT=5000 bun examples/bun-serve-memory/main.ts
 */
import { createRegistry, memoryStorage } from '../../src/index.ts';

const registry = createRegistry({ storage: memoryStorage() });
const server = Bun.serve({ hostname: '127.0.0.1', port: Number(process.env.PORT ?? 5000), fetch: registry.fetch, maxRequestBodySize: Number.MAX_SAFE_INTEGER });
console.log(`bun-serve-memory example listening on http://127.0.0.1:${server.port}`);
