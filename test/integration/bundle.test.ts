/** The bytecode bundle (`npm run build`): built from the sources, it serves pushes and pulls like the sources do. */
import { afterAll, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildBundle } from '../../bin/build-bundle.ts';
import { Client, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';

// Inside the repository (git-ignored .tmp/), so the external lmdb resolves from node_modules as it does for dist/.
const outdir = path.resolve(import.meta.dir, '../../.tmp', `bundle-${process.pid}`);
const dataDir = tempDir();
let server: ServerProcess | undefined;

afterAll(async () => {
  await server?.stop();
  fs.rmSync(outdir, { recursive: true, force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('marina built as a bytecode bundle starts, takes a pushed image and serves it back byte for byte', async () => {
  const entry = await buildBundle(outdir);
  expect(fs.existsSync(`${entry}.jsc`)).toBe(true);
  server = await startServer(dataDir, [], {}, 15_000, { entry });
  const client = new Client((request) => fetch(request), server.url);
  expect((await client.get('/v2/')).status).toBe(200);
  const layer = randomBytes(10_000);
  const pushed = await client.pushImage('bundle/app', { layers: [layer], reference: 'latest' });
  const manifest = await client.get('/v2/bundle/app/manifests/latest');
  expect(manifest.status).toBe(200);
  expect(manifest.headers.get('docker-content-digest')).toBe(pushed.digest);
  const layerDigest = pushed.layers[0]!.digest;
  const blob = await client.get(`/v2/bundle/app/blobs/${layerDigest}`);
  expect(new Uint8Array(await blob.arrayBuffer())).toEqual(layer as Uint8Array<ArrayBuffer>);
}, 60_000);
