/**
 * Real clients (crane, skopeo, oras) push and pull through a round-robin balancer over three nodes (on one data
 * directory, and on S3 + PostgreSQL): every request of a push may land on another node, and the image comes back
 * byte for byte.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Fixtures } from '../fixtures/make-images.ts';
import {
  getFixtures,
  getManifest,
  HOOK_TIMEOUT_MS,
  layoutTree,
  readLayoutBlob,
  readLayoutIndex,
  removeTempDirs,
  run,
  sameBytes,
  servedBytes,
  tempDir,
  tool,
  type Marina,
} from '../clients/harness.ts';
import { FS_AND_PG_S3, nodesUsed, startNodes, type Nodes } from '../support/nodes.ts';

let fx: Fixtures;
let work: string;

beforeAll(() => {
  fx = getFixtures();
  work = tempDir('nodes-clients');
  fs.writeFileSync(path.join(work, 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  fs.mkdirSync(path.join(work, 'tmp'));
}, HOOK_TIMEOUT_MS);

afterAll(() => removeTempDirs());

const env = () => ({ HOME: work, DOCKER_CONFIG: work, TMPDIR: path.join(work, 'tmp') });

for (const mode of FS_AND_PG_S3) describe(`real clients through the balancer (${mode.name})`, () => {
  let nodes: Nodes;
  let engines: { stop(): Promise<void> } | undefined;
  /** The balancer, as the client harness's helpers address a registry. */
  let registry: Marina;

  beforeAll(async () => {
    const started = await mode.start();
    engines = started;
    nodes = await startNodes({ storage: started.storage });
    registry = {
      host: `127.0.0.1:${nodes.balancer.port}`,
      url: nodes.url,
      port: nodes.balancer.port,
      dataDir: nodes.data,
      log: () => nodes.nodes.map((n) => n.stderr()).join(''),
      errors: () => [],
      requests: () => [],
      fetch: (pathname, init) => fetch(`${nodes.url}${pathname}`, init),
      stop: () => nodes.stop(),
    };
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await nodes?.stop();
    await engines?.stop();
  }, HOOK_TIMEOUT_MS);

  const ref = (r: string) => `${registry.host}/${r}`;

  /** Asserts that the balancer sent this step's requests to all three nodes, and no node answered 5xx. */
  const expectSpread = (since: number): void => {
    const entries = nodes.balancer.log.slice(since);
    expect(nodesUsed(nodes.balancer, (e) => entries.includes(e)).size).toBe(3);
    expect(entries.filter((e) => (e.status ?? 0) >= 500)).toEqual([]);
  };

  test('crane pushes a ~64 MiB image and pulls it back byte for byte', async () => {
    const since = nodes.balancer.log.length;
    const crane = (args: string[]) => run([tool('crane'), ...args, '--insecure'], { env: env(), timeoutMs: 120_000 });
    const pushed = await crane(['push', fx.layouts.big, ref('nodes/crane:v1')]);
    expect(pushed.stdout.trim()).toBe(`${ref('nodes/crane')}@${fx.big.manifest.digest}`);
    const out = path.join(tempDir('nodes-crane'), 'out');
    await crane(['pull', '--format', 'oci', ref('nodes/crane:v1'), out]);
    expect(readLayoutIndex(out).manifests[0]!.digest).toBe(fx.big.manifest.digest);
    for (const [digest, bytes] of layoutTree(fx.layouts.big, fx.big.manifest.digest)) expect(sameBytes(readLayoutBlob(out, digest), bytes)).toBe(true);
    expectSpread(since);
  }, 180_000);

  test('skopeo copies an image in and back out with identical manifest and blobs', async () => {
    const since = nodes.balancer.log.length;
    const skopeo = (args: string[]) => run([tool('skopeo'), '--policy', path.join(work, 'policy.json'), ...args], { env: env(), timeoutMs: 120_000 });
    await skopeo(['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${fx.layouts.image}:latest`, `docker://${ref('nodes/skopeo:v1')}`]);
    const tree = layoutTree(fx.layouts.image, fx.image.manifest.digest);
    for (const [digest, bytes] of tree) expect(sameBytes(await servedBytes(registry, 'nodes/skopeo', digest), bytes)).toBe(true);
    const out = path.join(tempDir('nodes-skopeo'), 'out');
    await skopeo(['copy', '--preserve-digests', '--src-tls-verify=false', `docker://${ref('nodes/skopeo:v1')}`, `oci:${out}:latest`]);
    expect(readLayoutIndex(out).manifests[0]!.digest).toBe(fx.image.manifest.digest);
    for (const [digest, bytes] of tree) expect(sameBytes(readLayoutBlob(out, digest), bytes)).toBe(true);
    expectSpread(since);
  }, 180_000);

  test('oras pushes an artifact and pulls the file back', async () => {
    const since = nodes.balancer.log.length;
    const oras = (args: string[], cwd: string) => run([tool('oras'), ...args], { env: env(), cwd, timeoutMs: 120_000 });
    await oras(['push', '--plain-http', '--artifact-type', 'application/vnd.marina.test', ref('nodes/oras:v1'), 'artifact.txt:text/plain'], path.dirname(fx.artifact.payload.path));
    const served = await getManifest(registry, 'nodes/oras', 'v1');
    expect(served.json.layers[0].digest).toBe(fx.artifact.payload.digest);
    const out = path.join(tempDir('nodes-oras'), 'out');
    await oras(['pull', '--plain-http', '-o', out, ref('nodes/oras:v1')], work);
    expect(sameBytes(new Uint8Array(fs.readFileSync(path.join(out, 'artifact.txt'))), new Uint8Array(fs.readFileSync(fx.artifact.payload.path)))).toBe(true);
    expectSpread(since);
  }, 180_000);
});
