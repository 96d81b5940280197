/**
 * `marina bench <url>` against real registries (quick mode, sub-second windows, bundled generators so the test
 * needs no external load tool): Debian's Distribution 2.8, anonymous; Marina with token auth (Basic credentials for
 * the Bearer flow) and with Basic auth; a read-only run on content already in a repository.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { exportPKCS8, generateKeyPair } from 'jose';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/registry.ts';
import { runCli, type ServerProcess } from '../helpers/server.ts';
import { PASSWORDS, startWithAuth, writeRules, writeUsers } from '../auth/support.ts';
import { startDistribution, type DistributionServer } from '../support/distribution.ts';

const ROOT = path.resolve(import.meta.dir, '../..');
let dir: string;
let distribution: DistributionServer;
let marina: ServerProcess;
let marinaBasic: ServerProcess;

beforeAll(async () => {
  dir = tempDir('marina-bench-cli-');
  distribution = await startDistribution();
  const keyFile = path.join(dir, 'token-key.pem');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  fs.writeFileSync(keyFile, await exportPKCS8(privateKey), { mode: 0o600 });
  marina = await startWithAuth(dir, ['--htpasswd', await writeUsers(dir), '--access', writeRules(dir), '--token-key', keyFile]);
  marinaBasic = await startWithAuth(dir, ['--auth', 'basic', '--htpasswd', await writeUsers(dir), '--access', writeRules(dir)]);
});

afterAll(async () => {
  await marina?.stop();
  await marinaBasic?.stop();
  await distribution?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Fast settings: sub-second windows and the bundled clients (cross-checked by their fetch twins). */
const FAST = ['--quick', '--window', '0.3', '--generator', 'bun'];

interface Report {
  kind: string;
  targets: { notes: string[] }[];
  cases: { id: string; scenario: string; targets: { remote: { status: string; median: number; errors: number; generator: string; cross?: { generator: string; median: number } } } }[];
}

const readReport = (out: string, name = 'bench'): Report => JSON.parse(fs.readFileSync(path.join(out, `${name}.json`), 'utf8')) as Report;

/** Every case was measured by both generators (a cross-check disagreement on a busy machine still measured both). */
function expectMeasured(report: Report, scenarios: string[]): void {
  expect([...new Set(report.cases.map((c) => c.scenario))].sort()).toEqual([...scenarios].sort());
  for (const c of report.cases) {
    const r = c.targets.remote;
    expect({ id: c.id, status: r.status === 'ok' || (r.status === 'failed' && r.cross !== undefined) }).toEqual({ id: c.id, status: true });
    expect(r.median).toBeGreaterThan(0);
    expect(r.errors).toBe(0);
    expect(r.cross?.median).toBeGreaterThan(0);
  }
}

describe('marina bench', () => {
  test('--help explains the command, its options and examples', async () => {
    const r = await runCli(['bench', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: marina bench <registry-url>');
    for (const flag of ['--username', '--password', '--repository', '--read-only', '--quick', '--prefix', 'MARINA_BENCH_PASSWORD']) expect(r.stdout).toContain(flag);
    expect((await runCli(['--help'])).stdout).toContain('bench');
  });

  test('refuses a missing URL with a usage error', async () => {
    const r = await runCli(['bench']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give exactly one registry URL');
  });

  test('seeds, then measures pulls and pushes on Distribution 2.8 (anonymous), and writes Markdown, JSON and SVG', async () => {
    const out = path.join(dir, 'dist');
    const r = await runCli(['bench', distribution.url, ...FAST, '--only', 'manifest,tags,push', '--out', out], {}, 90_000);
    expect(r.stderr).not.toContain('marina bench:');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Manifest GET by tag');
    const report = readReport(out);
    expect(report.kind).toBe('remote');
    expect(report.targets[0]!.notes).toContain('auth: none (GET /v2/ answered 200)');
    expectMeasured(report, ['manifest', 'tags', 'push']);
    const manifest = report.cases.find((c) => c.id.startsWith('manifest/get-tag'))!;
    expect(manifest.targets.remote.generator).toBe('bun');
    expect(manifest.targets.remote.cross?.generator).toBe('bun-fetch');
    expect(report.cases.find((c) => c.scenario === 'push')!.targets.remote.cross?.generator).toBe('fetch-push');
    expect(fs.readFileSync(path.join(out, 'bench.md'), 'utf8')).toContain('# Registry benchmark (marina bench)');
    expect(fs.readFileSync(path.join(out, 'bench.svg'), 'utf8')).toStartWith('<svg');
  }, 100_000);

  test('--read-only --repository measures pulls on content already there and pushes nothing', async () => {
    const out = path.join(dir, 'dist-ro');
    const r = await runCli(['bench', distribution.url, ...FAST, '--read-only', '--repository', 'marina-bench/app:v1', '--only', 'blob-get,manifest', '--out', out], {}, 90_000);
    expect(r.code).toBe(0);
    const report = readReport(out);
    expectMeasured(report, ['blob-get', 'manifest']);
    // The seeded manifest's smallest blob is its 1 KiB config, its largest a 4 KiB layer.
    expect(report.cases.map((c) => c.id).filter((id) => id.startsWith('blob-get/')).sort()).toEqual(['blob-get/1k/c1', 'blob-get/1k/c4', 'blob-get/4k/c1', 'blob-get/4k/c4']);
    expect(report.cases.some((c) => c.scenario.includes('push'))).toBe(false);
  }, 100_000);

  test('answers the Bearer token flow with credentials from the environment (Marina with token auth)', async () => {
    const out = path.join(dir, 'marina');
    const r = await runCli(['bench', marina.url, ...FAST, '--username', 'alice', '--only', 'manifest,image-push', '--out', out], { MARINA_BENCH_PASSWORD: PASSWORDS.alice }, 90_000);
    expect(r.stderr).not.toContain('marina bench:');
    expect(r.code).toBe(0);
    const report = readReport(out);
    expect(report.targets[0]!.notes).toEqual(['as alice', 'auth: Bearer token']);
    expectMeasured(report, ['manifest', 'image-push']);
  }, 100_000);

  test('answers Basic challenges too, started as `bun bench/run.ts --target-url` (npm run bench -- --target-url)', async () => {
    const out = path.join(dir, 'marina-basic');
    const proc = Bun.spawn([process.execPath, path.join(ROOT, 'bench/run.ts'), '--target-url', marinaBasic.url, ...FAST, '--only', 'manifest', '--out', out], {
      cwd: ROOT,
      env: { ...process.env, MARINA_BENCH_USERNAME: 'alice', MARINA_BENCH_PASSWORD: PASSWORDS.alice },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited, new Response(proc.stdout).text()]);
    clearTimeout(timer);
    expect(stderr).not.toContain('marina bench:');
    expect(code).toBe(0);
    const report = readReport(out);
    expect(report.targets[0]!.notes).toEqual(['as alice', 'auth: Basic']);
    expectMeasured(report, ['manifest']);
  }, 70_000);

  test('fails clearly with a wrong password or without credentials', async () => {
    const wrong = await runCli(['bench', marina.url, ...FAST, '--username', 'alice', '--password', 'not-it', '--out', path.join(dir, 'x')], {}, 30_000);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('could not authenticate');
    const none = await runCli(['bench', marina.url, ...FAST, '--out', path.join(dir, 'y')], {}, 30_000);
    expect(none.code).toBe(1);
    // Anonymous callers may open /v2/ on this server (they may pull public/*), so the refusal comes at the first push.
    expect(none.stderr).toContain('seeding under marina-bench/ failed');
    expect(none.stderr).toContain('HTTP 401');
    expect(none.stderr).toContain('--username/--password');
  }, 60_000);
});
