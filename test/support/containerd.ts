/**
 * A private containerd daemon for tests: root, state, opt dir, config and sockets under one directory; CRI and
 * unneeded plugins off. Started with a bounded wait for `ctr version`; stopped with SIGTERM, then SIGKILL.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run, tool } from './commands.ts';

/** A running containerd. */
export interface ContainerdDaemon {
  socket: string;
  /** Daemon log (stderr) so far. */
  log(): string;
  /** Stops the daemon; the caller removes its directory. */
  stop(): Promise<void>;
}

/** Starts containerd with everything under `dir`; resolves once `ctr version` answers (within 20 s). */
export async function startContainerd(dir: string): Promise<ContainerdDaemon> {
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
  const proc = Bun.spawn([tool('containerd'), '--config', path.join(dir, 'config.toml')], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  let log = '';
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) log += decoder.decode(chunk, { stream: true });
  })();
  void new Response(proc.stdout).text();
  const stop = async () => {
    if (proc.exitCode !== null) return;
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await proc.exited;
    clearTimeout(killer);
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`containerd exited with ${proc.exitCode}:\n${log.slice(-4000)}`);
    if (fs.existsSync(socket) && (await run([tool('ctr'), '--address', socket, 'version'], { allowFailure: true, timeoutMs: 5000 })).code === 0) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`containerd did not answer on ${socket} within 20 s:\n${log.slice(-4000)}`);
    }
    await Bun.sleep(50);
  }
  return { socket, log: () => log, stop };
}
