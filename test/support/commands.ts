/**
 * Running external tools in tests: the pinned tool directory first on PATH, a hard time limit, and failures that
 * explain themselves. A missing binary throws with the install command: tests never skip.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root (where src/cli/main.ts lives). */
export const REPO_ROOT = path.resolve(import.meta.dir, '..', '..');
/** Where `.ci/install-tools.sh` installs Go tools. */
export const TOOLS_BIN = path.join(process.env.MARINA_TOOLS_DIR ?? '/opt/marina-tools', 'bin');
/** PATH for client processes: installed tools first. */
export const TOOL_PATH = [TOOLS_BIN, process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(':');

/**
 * The absolute path of a client binary. A missing binary throws (never skips), naming the installer to run.
 */
export function tool(name: string): string {
  const found = Bun.which(name, { PATH: TOOL_PATH });
  if (!found) {
    throw new Error(`client binary '${name}' is not installed (searched ${TOOL_PATH}); run: bash .ci/install-tools.sh clients`);
  }
  return found;
}

/** The result of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Milliseconds it took. */
  ms: number;
}

/** Options of {@link run}. */
export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kill the command (SIGKILL) after this long. @default 120000 */
  timeoutMs?: number;
  stdin?: string | Uint8Array;
  /** Resolve instead of throwing on a non-zero exit. @default false */
  allowFailure?: boolean;
  /** Send stdout to this file instead of capturing it (binary output such as a blob). */
  stdoutPath?: string;
}

/**
 * Runs a command to completion with a hard time limit. Throws on a non-zero exit or timeout with the command line,
 * exit code and both output streams, so a failing client explains itself in the test report.
 */
export async function run(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const started = performance.now();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, PATH: TOOL_PATH, ...options.env })) if (v !== undefined) env[k] = v;
  // An fd opened with 'w' truncates; Bun.file() as stdout would overwrite in place and leave a longer old tail.
  const stdoutFd = options.stdoutPath ? fs.openSync(options.stdoutPath, 'w') : undefined;
  const proc = Bun.spawn(argv, {
    cwd: options.cwd ?? REPO_ROOT,
    env,
    stdin: options.stdin === undefined ? 'ignore' : new Blob([options.stdin as Uint8Array<ArrayBuffer>]),
    stdout: stdoutFd ?? 'pipe',
    stderr: 'pipe',
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    proc.stdout instanceof ReadableStream ? new Response(proc.stdout).text() : '',
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  if (stdoutFd !== undefined) fs.closeSync(stdoutFd);
  const result = { code, stdout, stderr, ms: performance.now() - started };
  if (timedOut) throw new Error(`${commandLine(argv)} timed out after ${timeoutMs} ms\n${outputOf(result)}`);
  if (code !== 0 && !options.allowFailure) throw new Error(`${commandLine(argv)} exited with ${code}\n${outputOf(result)}`);
  return result;
}

function commandLine(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function outputOf(r: { stdout: string; stderr: string }): string {
  const clip = (s: string) => (s.length > 6000 ? `${s.slice(0, 2000)}\n…\n${s.slice(-4000)}` : s);
  return `--- stdout ---\n${clip(r.stdout)}\n--- stderr ---\n${clip(r.stderr)}`;
}

/** The first line a `--version`-style command prints (for the report). */
export async function versionOf(argv: string[]): Promise<string> {
  const r = await run(argv, { timeoutMs: 20_000, allowFailure: true });
  return `${r.stdout}\n${r.stderr}`.trim().split('\n')[0] ?? '';
}
