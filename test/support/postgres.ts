/**
 * A throwaway PostgreSQL cluster for the tests: `initdb` into a temporary directory, the server on a free loopback
 * port (and a unix socket in that directory) with trust authentication for loopback only, a database per caller,
 * and everything stopped and removed by `stop()`. One cluster per test file, reused across its tests.
 * Runs the server as the `postgres` user when the tests run as root (PostgreSQL refuses to run as root).
 * Fails (never skips) when PostgreSQL is not installed: `bash .ci/install-tools.sh postgres`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll } from 'bun:test';
import { SQL } from 'bun';
import { freePort } from './process.ts';

/** A running cluster. */
export interface PostgresCluster {
  /** The loopback port the server listens on. */
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/<database>` */
  url(database?: string): string;
  /**
   * Creates a new, empty database and returns its URL. `icuLocale` gives it a language collation (say `en-US`)
   * instead of the cluster's C collation, to prove byte-order listings do not depend on it.
   */
  createDatabase(options?: { icuLocale?: string }): Promise<string>;
  /**
   * Stops the server as a crash would (immediate shutdown: no checkpoint, WAL records not yet written are lost) and
   * starts it again, which replays the WAL. Open client connections break.
   */
  crashAndRestart(): Promise<void>;
  /** The server log so far (for failure messages). */
  log(): string;
  /** Stops the server (immediate shutdown) and removes the cluster directory. */
  stop(): Promise<void>;
}

/** The directory of the newest installed PostgreSQL's binaries; throws with the install command when missing. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'postgres'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (!versions.length) throw new Error(`PostgreSQL is not installed (no ${root}/*/bin/postgres); run: bash .ci/install-tools.sh postgres`);
  return path.join(root, versions[0]!, 'bin');
}

/** Runs a PostgreSQL tool as the cluster's owner, bounded in time; throws with its output when it fails. */
async function runAs(owner: string | undefined, argv: string[], timeoutMs: number): Promise<string> {
  const command = owner ? ['runuser', '-u', owner, '--', ...argv] : argv;
  const proc = Bun.spawn(command, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', cwd: os.tmpdir() });
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${command.join(' ')} exited with ${code}:\n${out}\n${err}`);
  return out;
}

/** Starts a fresh cluster (about a second: `initdb --no-sync`, then `pg_ctl start -w`). */
export async function startPostgres(options: { fsync?: boolean; timeoutMs?: number } = {}): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? 'postgres' : undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  if (asRoot) {
    const uid = Number((await runAs(undefined, ['id', '-u', 'postgres'], 5000)).trim());
    const gid = Number((await runAs(undefined, ['id', '-g', 'postgres'], 5000)).trim());
    fs.chownSync(dir, uid, gid);
  }
  fs.chmodSync(dir, 0o700);
  let started = false;
  // A test process that dies before its afterAll still takes its cluster along.
  const onExit = () => {
    if (started) Bun.spawnSync([...(owner ? ['runuser', '-u', owner, '--'] : []), path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'], { stdout: 'ignore', stderr: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    if (started) {
      started = false;
      await runAs(owner, [path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'], 40_000).catch(() => undefined);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await runAs(owner, [path.join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], timeoutMs);
    // Trust for loopback and the socket only: nothing else may connect.
    fs.writeFileSync(path.join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
    const port = await freePort();
    const settings = [
      `-c listen_addresses=127.0.0.1`, `-p ${port}`, `-k ${dir}`,
      // Tests crash no machine: without fsync a cluster's commits cost no disk flush on a shared CI box.
      `-c fsync=${options.fsync ? 'on' : 'off'}`, '-c max_connections=200', '-c shared_buffers=32MB',
    ];
    const start = () => runAs(owner, [path.join(bin, 'pg_ctl'), '-D', data, '-l', logFile, '-w', '-t', String(Math.ceil(timeoutMs / 1000)), '-o', settings.join(' '), 'start'], timeoutMs + 5000);
    await start();
    started = true;
    const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
    let admin = new SQL(url(), { max: 1, connectionTimeout: 10 });
    let databases = 0;
    return {
      port,
      url,
      async createDatabase(options = {}) {
        const name = `t${process.pid}_${++databases}`;
        const icu = options.icuLocale;
        if (icu !== undefined && !/^[A-Za-z-]{2,20}$/.test(icu)) throw new Error(`not an ICU locale name: ${icu}`);
        await admin.unsafe(icu === undefined ? `CREATE DATABASE "${name}"` : `CREATE DATABASE "${name}" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${icu}'`);
        return url(name);
      },
      async crashAndRestart() {
        await admin.close({ timeout: 0 }).catch(() => undefined);
        await runAs(owner, [path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'], 40_000);
        await start();
        admin = new SQL(url(), { max: 1, connectionTimeout: 10 });
      },
      log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
      async stop() {
        await admin.close({ timeout: 1 }).catch(() => undefined);
        await stop();
      },
    };
  } catch (error) {
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-4000) : '';
    await stop();
    throw new Error(`starting PostgreSQL failed: ${(error as Error).message}\n${log}`);
  }
}

/** One cluster for the calling test file: started before its tests, stopped after them; call the result to reach it. */
export function postgresForThisFile(): () => PostgresCluster {
  let pg: PostgresCluster | undefined;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  });
  return () => {
    if (!pg) throw new Error('the PostgreSQL cluster of this file has not started');
    return pg;
  };
}
