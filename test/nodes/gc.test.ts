/**
 * Garbage collection beside nodes taking pushes: `marina gc` runs back to back on the nodes' storage (the shared
 * data directory, or S3 + PostgreSQL) while clients push through the balancer to all three nodes, re-pushing images
 * whose old manifest was deleted with their old layers (the race that loses blobs when a removal is not re-checked
 * inside the commit). Every acknowledged tag must still pull byte-exact, during the race and after a final run.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { Client } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { brokenImages, rePushUntil } from '../helpers/repush-race.ts';
import { runCli } from '../helpers/server.ts';
import { FS_AND_PG_S3, nodesUsed, startNodes, type Nodes, type NodesStorage } from '../support/nodes.ts';

const GRACE_S = 1;
const RACE_MS = 12_000;

for (const mode of FS_AND_PG_S3) describe(`garbage collection beside three nodes (${mode.name})`, () => {
  let nodes: Nodes;
  let storage: NodesStorage;
  let engines: { stop(): Promise<void> } | undefined;
  let gcData: string;

  beforeAll(async () => {
    const started = await mode.start();
    engines = started;
    storage = started.storage;
    nodes = await startNodes({ storage });
    gcData = tempDir('marina-nodes-gc-');
  }, 90_000);

  afterAll(async () => {
    await nodes?.stop();
    await engines?.stop();
    fs.rmSync(gcData, { recursive: true, force: true });
  });

  test('loses no acknowledged tag while pushes land on every node', async () => {
    // The collector sees the nodes' storage: their data directory, or the same remote stores from a directory of its own.
    const args = storage.kind === 'shared-dir' ? ['--data', nodes.data, ...(storage.args ?? [])] : ['--data', gcData, ...storage.args];
    const gc = () => runCli(['gc', ...args, '--grace', String(GRACE_S)], storage.env ?? {}, 60_000);
    const client = new Client((request) => fetch(request), nodes.url);
    const until = Date.now() + RACE_MS;
    const runs = { ok: 0, failed: 0, removedLinks: 0 };
    const collect = async () => {
      while (Date.now() < until) {
        const run = await gc();
        if (run.code !== 0) {
          runs.failed++;
          console.error(run.stderr.slice(-2000));
          continue;
        }
        runs.ok++;
        runs.removedLinks += Number(/; (\d+) links/.exec(run.stdout)?.[1] ?? 0);
      }
    };
    const [{ acknowledged, refusedWithinGrace }] = await Promise.all([rePushUntil(client, { until, workers: 8, graceMs: GRACE_S * 1000, prefix: 'nodes-gc' }), collect()]);
    const broken = await brokenImages(client, acknowledged);
    await Bun.sleep(GRACE_S * 1000 + 1100);
    const final = await gc();
    expect(final.code).toBe(0);
    const brokenAfterFinal = await brokenImages(client, acknowledged);
    console.log(`nodes gc race (${mode.name}): ${acknowledged.length} acknowledged tags over nodes ${[...nodesUsed(nodes.balancer)].join(',')}; gc ran ${runs.ok} times (${runs.failed} failed), removed ${runs.removedLinks} links; broken ${broken.length} / ${brokenAfterFinal.length} after a final gc`);
    expect(runs.failed).toBe(0);
    expect(runs.ok).toBeGreaterThan(1);
    expect(runs.removedLinks).toBeGreaterThan(0);
    expect(acknowledged.length).toBeGreaterThan(10);
    expect(nodesUsed(nodes.balancer).size).toBe(3);
    expect(broken.slice(0, 10)).toEqual([]);
    expect(brokenAfterFinal.slice(0, 10)).toEqual([]);
    expect(refusedWithinGrace).toBe(0);
  }, 120_000);
});
