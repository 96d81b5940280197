/**
 * Shared plumbing of the real-client tests: start and stop a real `marina serve` process on a free loopback port,
 * find client binaries (a missing one fails the test with the install command), run commands with a time limit,
 * build the fixture images once (cached by generator hash), and read manifests and blobs back over HTTP.
 *
 * Environment knobs:
 *   MARINA_TOOLS_DIR       where install-tools.sh put Go tools (default /opt/marina-tools; bin/ is searched first)
 *   MARINA_TEST_LOG=debug  run the servers at debug level (every request in the server log, Marina.log())
 *   MARINA_TEST_KEEP=1     keep temp dirs (data, client state) for inspection
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeImages, type Fixtures } from '../fixtures/make-images.ts';

export * from './registry-io.ts';
export * from '../support/commands.ts';
import { REPO_ROOT } from '../support/commands.ts';

const KEEP = process.env.MARINA_TEST_KEEP === '1';

// ---------------------------------------------------------------------------------------------------------------
// Temp dirs
// ---------------------------------------------------------------------------------------------------------------

const tempDirs = new Set<string>();

/** A fresh temp dir, removed by {@link removeTempDirs} (unless MARINA_TEST_KEEP=1). */
export function tempDir(prefix: string): string {
  // Lowercase only: some clients turn a path into an image name (podman pull oci:<dir>), which must be lowercase.
  const dir = path.join(os.tmpdir(), `marina-${prefix}-${crypto.randomUUID().slice(0, 8)}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  tempDirs.add(dir);
  return dir;
}

/** Removes a temp dir now. */
export function removeTempDir(dir: string): void {
  if (KEEP) return;
  tempDirs.delete(dir);
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Removes every temp dir made so far. Each test file calls it from its afterAll: `bun test` runs the files of one
 * process one after another and fires no process `exit` event, so this is where cleanup has to happen.
 */
export function removeTempDirs(): void {
  if (KEEP) {
    if (tempDirs.size) process.stderr.write(`kept temp dirs:\n  ${[...tempDirs].join('\n  ')}\n`);
    tempDirs.clear();
    return;
  }
  for (const dir of [...tempDirs]) removeTempDir(dir);
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------------

let fixtures: Fixtures | undefined;

/**
 * The fixture images. They are generated once into a cache dir named after a hash of the generator's sources and
 * the Bun version (`$TMPDIR/marina-fixtures-cache/<hash>`), so every test file and every later run reuses them;
 * a changed generator gets a new dir and the stale ones are removed.
 */
export function getFixtures(): Fixtures {
  if (fixtures) return fixtures;
  const hasher = new Bun.CryptoHasher('sha256').update(Bun.version);
  const generator = path.join(import.meta.dir, '..', 'fixtures');
  for (const file of fs.readdirSync(generator).filter((f) => f.endsWith('.ts')).sort()) hasher.update(file).update(fs.readFileSync(path.join(generator, file)));
  const key = hasher.digest('hex').slice(0, 16);
  const cache = path.join(os.tmpdir(), 'marina-fixtures-cache');
  const dir = path.join(cache, key);
  const summary = path.join(dir, 'fixtures.json');
  if (fs.existsSync(summary)) {
    fixtures = JSON.parse(fs.readFileSync(summary, 'utf8')) as Fixtures;
    return fixtures;
  }
  fs.mkdirSync(cache, { recursive: true });
  for (const stale of fs.readdirSync(cache)) if (stale !== key) fs.rmSync(path.join(cache, stale), { recursive: true, force: true });
  // Written under a private name, then renamed: a half-written cache is never picked up.
  const staging = path.join(cache, `.staging-${process.pid}-${key}`);
  fs.rmSync(staging, { recursive: true, force: true });
  makeImages(staging);
  try {
    fs.renameSync(staging, dir);
  } catch (error) {
    // Another test process finished the same cache first.
    fs.rmSync(staging, { recursive: true, force: true });
    if (!fs.existsSync(summary)) throw error;
    fixtures = JSON.parse(fs.readFileSync(summary, 'utf8')) as Fixtures;
    return fixtures;
  }
  fixtures = JSON.parse(fs.readFileSync(summary, 'utf8').replaceAll(staging, dir)) as Fixtures;
  fs.writeFileSync(summary, JSON.stringify(fixtures, null, 2));
  return fixtures;
}

// ---------------------------------------------------------------------------------------------------------------
// Tools and commands
// ---------------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------------
// The registry process
// ---------------------------------------------------------------------------------------------------------------

/** A running `marina serve`. */
export interface Marina {
  /** `127.0.0.1:<port>`: the registry host as clients write it in references. */
  host: string;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  dataDir: string;
  /** Everything the server has logged so far. */
  log(): string;
  /** Log lines at level error (unexpected failures inside the registry). */
  errors(): string[];
  /** Requests logged so far (only when started with logLevel debug). */
  requests(): LoggedRequest[];
  /** fetch() against the registry, path relative to the root. */
  fetch(pathname: string, init?: RequestInit): Promise<Response>;
  /** SIGTERM, wait (then SIGKILL after 10 s), remove the data dir. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startMarina}. */
export interface MarinaOptions {
  /** Serve the referrers API. @default true */
  referrers?: boolean;
  /** Log level; `debug` logs every request, which {@link Marina.requests} reads. @default info (or MARINA_TEST_LOG) */
  logLevel?: 'debug' | 'info' | 'warn';
  /** Extra `serve` flags. */
  args?: string[];
}

/** One request as logged at debug level. */
export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
}

/**
 * Starts a real Marina server process (`bun src/cli/main.ts serve`) on 127.0.0.1 with port 0, so the kernel picks a
 * free port, and waits for its "listening on" line. Test files stop it in afterAll ({@link Marina.stop}).
 */
export async function startMarina(options: MarinaOptions = {}): Promise<Marina> {
  const dataDir = tempDir('data');
  const level = options.logLevel ?? process.env.MARINA_TEST_LOG ?? 'info';
  const argv = [process.execPath, 'src/cli/main.ts', 'serve', '--host', '127.0.0.1', '--port', '0', '--data', dataDir, '--log-level', level, '--log-format', 'json'];
  // fsync per commit only slows tests on a shared CI disk; durability is covered elsewhere.
  argv.push('--no-sync');
  if (options.referrers === false) argv.push('--no-referrers');
  argv.push(...(options.args ?? []));
  const proc = Bun.spawn(argv, { cwd: REPO_ROOT, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', env: { ...process.env } });
  let logText = '';
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) logText += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(proc.stdout), drain(proc.stderr)]);

  const deadline = Date.now() + 20_000;
  let port = 0;
  while (Date.now() < deadline) {
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(logText);
    if (m) {
      port = Number(m[1]);
      break;
    }
    if (proc.exitCode !== null) throw new Error(`marina exited with ${proc.exitCode} before listening:\n${logText}`);
    await Bun.sleep(20);
  }
  if (!port) {
    proc.kill('SIGKILL');
    throw new Error(`marina did not report a listening port within 20 s:\n${logText}`);
  }

  const url = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const marina: Marina = {
    host: `127.0.0.1:${port}`,
    url,
    port,
    dataDir,
    log: () => logText,
    errors: () =>
      logText.split('\n').filter((line) => {
        try {
          return (JSON.parse(line) as { level?: string }).level === 'error';
        } catch {
          return false;
        }
      }),
    requests: () =>
      logText.split('\n').flatMap((line) => {
        try {
          const entry = JSON.parse(line) as { msg?: string; method?: string; path?: string; status?: number };
          return entry.msg === 'request' ? [{ method: entry.method!, path: entry.path!, status: entry.status! }] : [];
        } catch {
          return [];
        }
      }),
    fetch: (pathname, init) => fetch(`${url}${pathname}`, init),
    stop: () =>
      (stopped ??= (async () => {
        if (proc.exitCode === null) {
          proc.kill('SIGTERM');
          const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
          await proc.exited;
          clearTimeout(killer);
        }
        await drained.catch(() => undefined);
        removeTempDir(dataDir);
      })()),
  };
  // Responsive before anything else runs.
  const ping = await fetch(`${url}/v2/`);
  if (ping.status !== 200) throw new Error(`GET /v2/ answered ${ping.status}`);
  return marina;
}

/** Time limit of beforeAll/afterAll hooks: starting servers and daemons and seeding them on a busy 2-core CI box. */
export const HOOK_TIMEOUT_MS = 120_000;
