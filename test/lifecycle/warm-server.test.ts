/**
 * Warm-up on a real `marina serve` mirroring Distribution 2.8: POST /admin/warm needs push on the repository,
 * `marina cache warm --url` reports fetched and cached bytes, and the config's warm list resumes after a kill.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { basicOf, PASSWORDS, writeRules, writeUsers } from '../auth/support.ts';
import { tempDir } from '../helpers/registry.ts';
import { runCli, startServer, type ServerProcess } from '../helpers/server.ts';
import { startDistribution, type DistributionServer } from '../support/distribution.ts';
import { startFaultProxy, type FaultProxy } from '../mirror/support/fault-proxy.ts';
import { makeIndex, OCI_INDEX, pushImage, pushManifest, randomImage, type Image } from '../mirror/support/images.ts';

let dist: DistributionServer;
let proxy: FaultProxy;
const dirs: string[] = [];
const amd64: Image = randomImage([200_000, 800_000], 'srv-amd64');
const arm64: Image = randomImage([150_000, 700_000], 'srv-arm64');
const index = makeIndex([
  { image: amd64, architecture: 'amd64' },
  { image: arm64, architecture: 'arm64' },
]);
// bob may push (and pull) the mirrored team-a repositories; carol may only pull them.
const RULES = `
[[rules]]
users = ["bob"]
repositories = ["dist.test/team-a/**"]
actions = ["pull", "push"]

[[rules]]
users = ["carol"]
repositories = ["dist.test/**"]
actions = ["pull"]
`;
const bytesOf = (image: Image) => image.blobs.reduce((n, b) => n + b.bytes.byteLength, 0);

beforeAll(async () => {
  dist = await startDistribution();
  for (const repo of ['team-a/multi', 'team-b/multi']) {
    await pushImage(dist.url, repo, amd64.digest, amd64);
    await pushImage(dist.url, repo, arm64.digest, arm64);
    await pushManifest(dist.url, repo, 'v1', index.bytes, OCI_INDEX);
  }
  proxy = await startFaultProxy(dist.url);
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await dist?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function work(): string {
  const dir = tempDir('marina-warm-server-');
  dirs.push(dir);
  return dir;
}

const warm = (server: ServerProcess, body: unknown, authorization?: string) =>
  fetch(`${server.url}/admin/warm`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...(authorization ? { Authorization: authorization } : {}) } });

describe('warm-up on a server', () => {
  test('POST /admin/warm: 401 anonymous, 403 without push on the repository, 200 with it; the CLI then finds it cached', async () => {
    const dir = work();
    const server = await startServer(path.join(dir, 'data'), ['--mirror', `dist.test=${proxy.url}`, '--htpasswd', await writeUsers(dir), '--access', writeRules(dir, RULES), '--auth', 'basic']);
    try {
      const anonymous = await warm(server, { images: ['dist.test/team-a/multi:v1'] });
      expect(anonymous.status).toBe(401);
      expect((await warm(server, { images: ['dist.test/team-a/multi:v1'] }, basicOf('carol'))).status).toBe(403);
      const mixed = await warm(server, { images: ['dist.test/team-a/multi:v1', 'dist.test/team-b/multi:v1'] }, basicOf('bob'));
      expect(mixed.status).toBe(403);
      expect(((await mixed.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('DENIED');
      expect((await warm(server, { images: ['not a reference'] }, basicOf('bob'))).status).toBe(400);

      proxy.reset();
      const ok = await warm(server, { images: ['dist.test/team-a/multi:v1'], platforms: ['linux/arm64'] }, basicOf('bob'));
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ images: 1, manifests: 2, fetchedBlobs: arm64.blobs.length, fetchedBytes: bytesOf(arm64), skippedPlatforms: 1, failures: [] });
      for (const blob of amd64.blobs) expect(proxy.blobGets(blob.digest)).toHaveLength(0);

      proxy.reset();
      const cli = await runCli(['cache', 'warm', 'dist.test/team-a/multi:v1', '--url', server.url, '--user', `bob:${PASSWORDS.bob}`], {}, 30_000);
      expect(cli.code).toBe(0);
      expect(cli.stdout).toMatch(new RegExp(`warmed 1 of 1 images \\(3 manifests\\): fetched ${amd64.blobs.length} blobs \\(.*\\), already cached ${arm64.blobs.length} blobs`));
      // Only the amd64 blobs are fetched upstream (one GET each; a miss is HEAD-ed upstream first).
      expect(proxy.requests.filter((r) => r.method === 'GET' && r.path.includes('/blobs/')).map((r) => r.path.split('/').at(-1)).sort()).toEqual(amd64.blobs.map((b) => b.digest).sort());
    } finally {
      await server.stop();
    }
  }, 60_000);

  test('the configured warm list runs at startup and resumes after the server is killed midway', async () => {
    const dir = work();
    const data = path.join(dir, 'data');
    const config = path.join(dir, 'marina.json');
    fs.writeFileSync(config, JSON.stringify({ mirrors: [{ name: 'dist.test', url: proxy.url }], warm: ['dist.test/team-b/multi:v1'], warmPlatforms: ['linux/amd64'], warmConcurrency: 1 }));
    proxy.reset();
    proxy.faults.blobBytesPerSecond = 400_000;
    let server = await startServer(data, ['--config', config, '--log-level', 'debug']);
    try {
      const deadline = Date.now() + 20_000;
      while (!/warm fetched sha256/.test(server.stderr()) && Date.now() < deadline) await Bun.sleep(50);
      expect(server.stderr()).toMatch(/warm fetched sha256/);
      await server.stop('SIGKILL');
      expect(server.stderr()).not.toContain('warm-up finished');
    } finally {
      proxy.faults.blobBytesPerSecond = undefined;
    }
    server = await startServer(data, ['--config', config]);
    try {
      const deadline = Date.now() + 20_000;
      while (!server.stderr().includes('warm-up finished') && Date.now() < deadline) await Bun.sleep(50);
      const line = server.stderr().split('\n').find((l) => l.includes('warm-up finished')) ?? '';
      const field = (name: string) => Number(new RegExp(`${name}=(\\d+)`).exec(line)?.[1]);
      expect(field('cachedBlobs')).toBeGreaterThanOrEqual(1);
      expect(field('fetchedBlobs') + field('cachedBlobs')).toBe(amd64.blobs.length);
      expect(field('fetchedBytes') + field('cachedBytes')).toBe(bytesOf(amd64));
    } finally {
      await server.stop();
    }
  }, 60_000);
});
