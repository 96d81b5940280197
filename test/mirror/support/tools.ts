/**
 * External tools for the mirror tests: commands run with a hard time limit, and a private containerd daemon
 * (state, sockets and config under one temp dir; CRI and unneeded plugins off) for `ctr images pull` through the
 * mirror with a hosts.toml. A missing binary fails the test with the install command, never skips it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const TOOL_PATH = [path.join(process.env.MARINA_TOOLS_DIR ?? '/opt/marina-tools', 'bin'), process.env.PATH ?? '/usr/bin:/bin'].join(':');

/** The absolute path of a binary, or an error naming the installer. */
export function tool(name: string): string {
  const found = Bun.which(name, { PATH: TOOL_PATH });
  if (!found) throw new Error(`'${name}' is not installed (searched ${TOOL_PATH}); run: bash .ci/install-tools.sh clients`);
  return found;
}

/** A finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command; throws on a non-zero exit (unless `allowFailure`) or after `timeoutMs` (SIGKILL). */
export async function run(argv: string[], options: { timeoutMs?: number; allowFailure?: boolean } = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = performance.now();
  const proc = Bun.spawn(argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', env: { ...process.env, PATH: TOOL_PATH } });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  const result = { code, stdout, stderr, ms: performance.now() - started };
  const shown = () => `${argv.join(' ')}\n--- stdout ---\n${stdout.slice(-3000)}\n--- stderr ---\n${stderr.slice(-3000)}`;
  if (timedOut) throw new Error(`timed out after ${timeoutMs} ms: ${shown()}`);
  if (code !== 0 && !options.allowFailure) throw new Error(`exited with ${code}: ${shown()}`);
  return result;
}

/** A fresh temp dir. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `marina-${prefix}-`));
}

/** A private containerd daemon. */
export interface Containerd {
  socket: string;
  dir: string;
  /** Where hosts.toml files go (`<hostsDir>/<registry host>/hosts.toml`). */
  hostsDir: string;
  /** Runs `ctr` against the daemon in a test namespace. */
  ctr(args: string[], timeoutMs?: number): Promise<RunResult>;
  /** Daemon log so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts containerd with its state under a temp dir; resolves once `ctr version` answers (bounded). */
export async function startContainerd(): Promise<Containerd> {
  const containerd = tool('containerd');
  const ctrBin = tool('ctr');
  const dir = tempDir('mirror-containerd');
  const socket = path.join(dir, 'containerd.sock');
  const config = `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
`;
  fs.writeFileSync(path.join(dir, 'config.toml'), config);
  const proc = Bun.spawn([containerd, '--config', path.join(dir, 'config.toml')], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  let log = '';
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) log += decoder.decode(chunk, { stream: true });
  })();
  void new Response(proc.stdout).text();
  const stop = async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await proc.exited;
      clearTimeout(killer);
    }
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`containerd exited with ${proc.exitCode}:\n${log.slice(-4000)}`);
    if (fs.existsSync(socket) && (await run([ctrBin, '--address', socket, 'version'], { allowFailure: true, timeoutMs: 5000 })).code === 0) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`containerd did not answer within 20 s:\n${log.slice(-4000)}`);
    }
    await Bun.sleep(50);
  }
  const hostsDir = path.join(dir, 'certs.d');
  fs.mkdirSync(hostsDir);
  return {
    socket,
    dir,
    hostsDir,
    ctr: (args, timeoutMs = 60_000) => run([ctrBin, '--address', socket, '--namespace', 'marina-mirror-test', ...args], { timeoutMs }),
    log: () => log,
    stop,
  };
}
