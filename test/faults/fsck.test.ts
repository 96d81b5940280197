/**
 * `marina fsck` (the real CLI) on data directories damaged in each way it must notice: a missing blob file, a
 * corrupt one, a missing link, a missing child manifest, orphan files, partial uploads and stale sessions.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestHex, type Digest } from '../../src/oci/digest.ts';
import { fsStorage } from '../../src/storage/storage.ts';
import { bytesOf, randomBytes } from '../helpers/client.ts';
import { openRegistry, tempDir } from '../helpers/registry.ts';
import { runCli } from '../helpers/server.ts';
import { clientOf, FaultBed, makeImage, pushImage } from './support.ts';

const dirs: string[] = [];
const bed = new FaultBed();
afterAll(async () => {
  await bed.cleanup();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A data directory holding one tagged image (config + two layers) and a tagged index of it, closed. */
async function pushedData(): Promise<{ root: string; image: { digest: Digest; config: Digest; layers: Digest[] }; index: Digest }> {
  const t = openRegistry({}, tempDir('marina-fsck-'));
  dirs.push(t.root);
  const pushed = await t.client.pushImage('app/web', { reference: 'v1', layers: [randomBytes(3000), randomBytes(5000)] });
  const index = await t.client.pushIndex('app/web', [pushed.descriptor], { reference: 'all' });
  const config = (pushed.manifest.config as { digest: Digest }).digest;
  await t.close({ keepData: true });
  return { root: t.root, image: { digest: pushed.digest, config, layers: pushed.layers.map((l) => l.digest as Digest) }, index: index.digest };
}

function blobFile(root: string, digest: Digest): string {
  const hex = digestHex(digest);
  return path.join(root, 'blobs', 'sha256', hex.slice(0, 2), hex);
}

async function fsck(root: string, ...args: string[]) {
  const result = await runCli(['fsck', '--data', root, '--quiet', ...args]);
  return { ...result, lines: result.stdout.split('\n') };
}

/** Opens the stores of a (closed) data directory, runs `fn`, closes them. */
async function withStores<T>(root: string, fn: (s: ReturnType<typeof fsStorage>) => Promise<T> | T): Promise<T> {
  const storage = fsStorage({ root, sync: false });
  try {
    return await fn(storage);
  } finally {
    await storage.blobs.close();
    await storage.index.close();
    storage.ledger.close();
  }
}

describe('marina fsck', () => {
  test('prints its options with --help and exits 0', async () => {
    const r = await runCli(['fsck', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--repair');
    expect(r.stdout).toContain('Exit status');
  });

  test('refuses a directory that is not a data directory with exit status 2', async () => {
    const empty = tempDir('marina-fsck-empty-');
    dirs.push(empty);
    const r = await fsck(empty);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a Marina data directory');
  });

  test('shows its progress on stderr, a line per phase, unless --quiet', async () => {
    const { root } = await pushedData();
    const loud = await runCli(['fsck', '--data', root]);
    expect(loud.code).toBe(0);
    const phases = loud.stderr.split('\n').filter(Boolean).map((l) => /^fsck: ([a-z ]+?) \d/.exec(l)?.[1]);
    expect([...new Set(phases)]).toEqual(['hashing blobs', 'checking repositories', 'checking uploads']);
    expect(loud.stderr).toContain('fsck: hashing blobs 0/3 (0 B)');
    expect((await fsck(root)).stderr).toBe('');
  });

  test('finds nothing wrong in an intact data directory and exits 0 with a summary', async () => {
    const { root } = await pushedData();
    const r = await fsck(root);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('checked 1 repositories, 2 manifests, 2 tags, 3 links, 3 blob files');
    expect(r.stdout).toContain('errors: none');
    expect(r.stdout).toContain('result: consistent');
  });

  test('reports a deleted blob file as a dangling link and an incomplete manifest; --repair drops the link, keeps the manifest', async () => {
    const { root, image } = await pushedData();
    const layer = image.layers[0]!;
    fs.rmSync(blobFile(root, layer));
    const check = await fsck(root);
    expect(check.code).toBe(1);
    expect(check.lines.some((l) => l.includes('dangling-link') && l.includes(layer))).toBe(true);
    expect(check.lines.some((l) => l.includes('manifest-blob-missing') && l.includes(image.digest) && l.includes(layer))).toBe(true);

    const repaired = await fsck(root, '--repair');
    expect(repaired.code).toBe(1); // the manifest still lacks its layer: only a re-push fixes that
    expect(repaired.stdout).toContain('REPAIRED: link removed');
    await withStores(root, (s) => {
      expect(s.index.hasBlob('app/web', layer)).toBe(false);
      expect(s.index.getManifest('app/web', image.digest)).toBeDefined();
      expect(s.index.resolveTag('app/web', 'v1')).toBe(image.digest);
    });
  });

  test('finds a blob file whose bytes changed; --repair moves it to lost+found and a re-push makes the data consistent', async () => {
    const { root, image } = await pushedData();
    const layer = image.layers[1]!;
    const original = fs.readFileSync(blobFile(root, layer));
    const damaged = Buffer.from(original);
    damaged[100] = damaged[100]! ^ 0xff;
    fs.writeFileSync(blobFile(root, layer), damaged);
    const check = await fsck(root);
    expect(check.code).toBe(1);
    expect(check.lines.some((l) => l.includes('corrupt-blob') && l.includes(layer))).toBe(true);

    const repaired = await fsck(root, '--repair');
    expect(repaired.stdout).toContain('lost+found');
    expect(fs.existsSync(blobFile(root, layer))).toBe(false);
    expect(fs.readdirSync(path.join(root, 'lost+found'))).toHaveLength(1);

    // The registry now answers the blob as unknown, so a client uploads it again; then all is well.
    const t = openRegistry({}, root);
    await t.registry.putBlob('app/web', new Uint8Array(original));
    await t.close({ keepData: true });
    const after = await fsck(root);
    expect(after.code).toBe(0);
  });

  test('finds a blob a manifest needs that its repository does not link, and --repair links it', async () => {
    const { root, image } = await pushedData();
    await withStores(root, (s) => s.index.unlinkBlob('app/web', image.config));
    const check = await fsck(root);
    expect(check.code).toBe(1);
    expect(check.lines.some((l) => l.includes('unlinked-blob') && l.includes(image.config))).toBe(true);
    expect((await fsck(root, '--repair')).code).toBe(0);
    expect((await fsck(root)).code).toBe(0);
  });

  test('finds an index whose child manifest is gone and never deletes the index', async () => {
    const { root, image, index } = await pushedData();
    await withStores(root, (s) => s.index.deleteManifest('app/web', image.digest));
    const check = await fsck(root, '--repair');
    expect(check.code).toBe(1);
    expect(check.lines.some((l) => l.includes('manifest-child-missing') && l.includes(index) && l.includes(image.digest))).toBe(true);
    await withStores(root, (s) => expect(s.index.resolveTag('app/web', 'all')).toBe(index));
  });

  test('reports orphan blobs, unclaimed partial uploads and sessions without files as garbage; --repair --grace 0 removes them', async () => {
    const { root } = await pushedData();
    const orphan = bytesOf('nobody links me');
    const orphanDigest = await withStores(root, async (s) => (await s.blobs.put(`sha256:${new Bun.CryptoHasher('sha256').update(orphan).digest('hex')}` as Digest, orphan)).digest);
    const partial = path.join(root, 'uploads', crypto.randomUUID());
    fs.writeFileSync(partial, randomBytes(100));
    const ghost = crypto.randomUUID();
    await withStores(root, (s) => s.ledger.add({ id: ghost, repository: 'app/web', startedAt: Date.now(), touchedAt: Date.now() }));

    const check = await fsck(root);
    expect(check.code).toBe(0); // garbage is not an error
    expect(check.lines.some((l) => l.includes('orphan-blob') && l.includes(orphanDigest))).toBe(true);
    expect(check.lines.some((l) => l.includes('partial-file') && l.includes(path.basename(partial)))).toBe(true);
    expect(check.lines.some((l) => l.includes('stale-session') && l.includes(ghost))).toBe(true);

    // Within the grace period nothing is removed (a live server may be mid-commit).
    await fsck(root, '--repair');
    expect(fs.existsSync(partial)).toBe(true);

    const repaired = await fsck(root, '--repair', '--grace', '0');
    expect(repaired.code).toBe(0);
    expect(fs.existsSync(partial)).toBe(false);
    expect(fs.existsSync(blobFile(root, orphanDigest))).toBe(false);
    const after = await fsck(root);
    expect(after.stdout).toContain('garbage: none');
  });

  test('prints the report as JSON with --json', async () => {
    const { root, image } = await pushedData();
    fs.rmSync(blobFile(root, image.layers[0]!));
    const r = await fsck(root, '--json');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.remainingErrors).toBe(2);
    expect(report.findings.map((f: { kind: string }) => f.kind).sort()).toEqual(['dangling-link', 'manifest-blob-missing']);
  });

  test('checking beside a live server while clients push finds no errors (new blobs and manifests are not mistaken for damage)', async () => {
    const root = bed.dir();
    const server = await bed.serve(root);
    const c = clientOf(server);
    let pushing = true;
    let pushed = 0;
    const shared = randomBytes(8192);
    const clients = Array.from({ length: 4 }, async (_, i) => {
      for (let n = 0; pushing; n++) {
        expect(await pushImage(c, `live/c${i}`, `t${n}`, makeImage([shared, randomBytes(4096)]))).toBe(201);
        pushed++;
      }
    });
    try {
      for (let run = 0; run < 3; run++) {
        const r = await fsck(root);
        expect({ code: r.code, errors: r.lines.filter((l) => l.startsWith('ERROR')) }).toEqual({ code: 0, errors: [] });
      }
    } finally {
      pushing = false;
      await Promise.all(clients);
    }
    expect(pushed).toBeGreaterThan(4);
  }, 30_000);
});
