/**
 * Two `marina serve` nodes sharing one PostgreSQL index (`--index postgres://…`) and one S3 bucket (SeaweedFS):
 * what one node acknowledges, the other serves at once — pushes by the test client and by crane, tag moves and
 * deletes, and a pull-through mirror whose cache ledger both nodes share. Real engines started here; fails (never
 * skips) when PostgreSQL, `weed`, crane or docker-registry is missing: `bash .ci/install-tools.sh postgres s3 clients upstream`.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SQL } from 'bun';
import { digestOf } from '../../src/oci/digest.ts';
import { MIGRATIONS } from '../../src/storage/pg-migrations.ts';
import { Client, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import { makeImage, pushImage } from '../mirror/support/images.ts';
import { run, tool } from '../support/commands.ts';
import { startDistribution, type DistributionServer } from '../support/distribution.ts';
import { freePort } from '../support/process.ts';
import { startPostgres, type PostgresCluster } from '../support/postgres.ts';
import { startSeaweedFs, type SeaweedFs } from '../support/seaweedfs.ts';

// Two engines and two servers on a busy 2-core machine: seconds, not milliseconds.
setDefaultTimeout(90_000);

const BUCKET = 'marina-nodes';
const MIB = 1024 * 1024;
let pg: PostgresCluster;
let weed: SeaweedFs;
let indexUrl: string;
let nodes: ServerProcess[] = [];
let dirs: string[] = [];
let home: string;

beforeAll(async () => {
  [pg, weed] = await Promise.all([startPostgres(), startSeaweedFs()]);
  await weed.createBucket(BUCKET);
  indexUrl = await pg.createDatabase();
  const env = { AWS_ACCESS_KEY_ID: weed.accessKeyId, AWS_SECRET_ACCESS_KEY: weed.secretAccessKey, AWS_REGION: weed.region };
  const args = ['--index', indexUrl, '--blobs', `s3://${BUCKET}/shared`, '--s3-endpoint', weed.endpoint, '--s3-part-size', '5MiB'];
  dirs = [tempDir('marina-node-a-'), tempDir('marina-node-b-')];
  home = tempDir('marina-nodes-crane-');
  // Both start at once on an empty database: the schema must be migrated exactly once.
  nodes = await Promise.all(dirs.map((dir) => startServer(dir, args, env, 60_000)));
}, 180_000);

afterAll(async () => {
  for (const node of nodes) await node.stop();
  await weed?.stop();
  await pg?.stop();
  for (const dir of [...dirs, home]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const bytesOf = async (res: Response): Promise<Uint8Array> => new Uint8Array(await res.arrayBuffer());
const client = (i: number) => new Client(fetch, nodes[i]!.url);
const host = (i: number) => new URL(nodes[i]!.url).host;

describe('two nodes on one PostgreSQL index and one S3 bucket', () => {
  test('nodes starting together on an empty database apply each schema migration once', async () => {
    const sql = new SQL(indexUrl, { max: 1 });
    try {
      const rows = await sql`SELECT version FROM schema_migrations ORDER BY version`;
      expect(rows.map((r: { version: number }) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await sql.close({ timeout: 1 });
    }
    expect(nodes[0]!.startupLine).toContain('index=postgres://postgres@127.0.0.1');
  });

  test('an image pushed to one node is pulled byte for byte from the other, and its tag list and catalog agree', async () => {
    const pushed = await client(0).pushImage('team/app', { layers: [randomBytes(6 * MIB + 5), randomBytes(1000)], tags: ['v1'] });
    const b = client(1);
    const manifest = await b.get('/v2/team/app/manifests/v1', { accept: 'application/vnd.oci.image.manifest.v1+json' });
    expect(manifest.status).toBe(200);
    expect(await bytesOf(manifest)).toEqual(pushed.bytes);
    for (const layer of pushed.layers) {
      const got = await b.get(`/v2/team/app/blobs/${layer.digest}`);
      expect(got.status).toBe(200);
      expect(digestOf(await bytesOf(got)) as string).toBe(layer.digest);
    }
    expect(await (await b.get('/v2/team/app/tags/list')).json()).toEqual({ name: 'team/app', tags: ['v1'] });
    expect(((await (await b.get('/v2/_catalog')).json()) as { repositories: string[] }).repositories).toContain('team/app');
  });

  test('crane pushes to one node and pulls the same image from the other', async () => {
    const crane = (args: string[]) => run([tool('crane'), ...args, '--insecure'], { env: { HOME: home, DOCKER_CONFIG: home }, timeoutMs: 120_000 });
    const layer = path.join(home, 'layer.tar');
    // A tar with one file: what `crane append` turns into a layer.
    const staging = path.join(home, 'rootfs');
    fs.mkdirSync(staging, { recursive: true });
    fs.writeFileSync(path.join(staging, 'hello.txt'), `hello from node a ${crypto.randomUUID()}\n`);
    await run(['tar', '-C', staging, '-cf', layer, 'hello.txt']);
    const appended = await crane(['append', '-f', layer, '-t', `${host(0)}/crane/app:v1`]);
    const digest = appended.stdout.trim().split('@')[1]!;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await crane(['digest', `${host(1)}/crane/app:v1`])).stdout.trim()).toBe(digest);
    const out = path.join(home, 'pulled');
    await crane(['pull', '--format', 'oci', `${host(1)}/crane/app:v1`, out]);
    const index = JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests[0]!.digest).toBe(digest);
    const exported = await crane(['export', `${host(1)}/crane/app:v1`, path.join(home, 'fs.tar')]);
    expect(exported.code).toBe(0);
    const listing = await run(['tar', '-tf', path.join(home, 'fs.tar')]);
    expect(listing.stdout).toContain('hello.txt');
  });

  test('a tag moved and a manifest deleted on one node are seen by the other at once', async () => {
    const a = client(0);
    const b = client(1);
    const first = await a.pushImage('team/moving', { layers: [randomBytes(100)], tags: ['latest'] });
    expect((await b.head('/v2/team/moving/manifests/latest')).headers.get('docker-content-digest')).toBe(first.digest);
    const second = await b.pushImage('team/moving', { layers: [randomBytes(100)], tags: ['latest'] });
    expect((await a.head('/v2/team/moving/manifests/latest')).headers.get('docker-content-digest')).toBe(second.digest);
    const deleted = await a.send('DELETE', `/v2/team/moving/manifests/${second.digest}`);
    expect(deleted.status).toBe(202);
    expect((await b.head(`/v2/team/moving/manifests/${second.digest}`)).status).toBe(404);
    expect((await b.head('/v2/team/moving/manifests/latest')).status).toBe(404);
    expect((await b.head(`/v2/team/moving/manifests/${first.digest}`)).status).toBe(200);
  });

  test('a node whose index cannot be reached stops at start-up, says why and never prints the password', async () => {
    const dir = tempDir('marina-node-noindex-');
    try {
      const url = `postgres://marina:sekrit-pw@127.0.0.1:${await freePort()}/marina`;
      const error = await startServer(dir, ['--index', url], {}, 30_000).then(
        async (s) => {
          await s.stop();
          return undefined;
        },
        (e: Error) => e,
      );
      expect(error?.message).toContain('PostgreSQL index postgres://marina:***@127.0.0.1:');
      expect(error?.message).toContain('is not usable');
      expect(error?.message).not.toContain('sekrit-pw');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('two mirror nodes on one PostgreSQL index', () => {
  let dist: DistributionServer;
  let mirrors: ServerProcess[] = [];
  let mirrorDirs: string[] = [];
  let url: string;

  beforeAll(async () => {
    dist = await startDistribution();
    url = await pg.createDatabase();
    const env = { AWS_ACCESS_KEY_ID: weed.accessKeyId, AWS_SECRET_ACCESS_KEY: weed.secretAccessKey };
    const args = ['--index', url, '--blobs', `s3://${BUCKET}/mirror`, '--s3-endpoint', weed.endpoint, '--mirror', `dist.test=${dist.url}`, '--mirror-freshness', '600'];
    mirrorDirs = [tempDir('marina-mirror-a-'), tempDir('marina-mirror-b-')];
    mirrors = await Promise.all(mirrorDirs.map((dir) => startServer(dir, args, env, 60_000)));
  }, 120_000);

  afterAll(async () => {
    for (const m of mirrors) await m.stop();
    await dist?.stop();
    for (const dir of mirrorDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a tag filled through one node is a fresh cache hit on the other, with the cache ledger in PostgreSQL', async () => {
    const image = makeImage([randomBytes(4096)]);
    await pushImage(dist.url, 'team/app', 'v1', image);
    const manifestPath = '/v2/dist.test/team/app/manifests/v1';
    const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
    const cold = await fetch(`${mirrors[0]!.url}${manifestPath}`, { headers: accept });
    expect(cold.status).toBe(200);
    expect(cold.headers.get('cache-status')).toBe('marina; fwd=miss');
    expect(await bytesOf(cold)).toEqual(image.manifest);
    // The other node has never seen it: the shared index has the manifest, the shared ledger its freshness.
    const warm = await fetch(`${mirrors[1]!.url}${manifestPath}`, { headers: accept });
    expect(warm.status).toBe(200);
    expect(warm.headers.get('cache-status')).toBe('marina; hit');
    expect(await bytesOf(warm)).toEqual(image.manifest);
    const sql = new SQL(url, { max: 1 });
    try {
      const [tag] = await sql`SELECT digest FROM mirror_tags WHERE repository = 'dist.test/team/app' AND tag = 'v1'`;
      expect(tag?.digest).toBe(image.digest);
      const [cached] = await sql`SELECT count(*)::int4 AS n FROM mirror_images WHERE repository = 'dist.test/team/app'`;
      expect(cached.n).toBe(1);
    } finally {
      await sql.close({ timeout: 1 });
    }
    for (const dir of mirrorDirs) expect(fs.existsSync(path.join(dir, 'mirror.sqlite'))).toBe(false);
  });
});
