/**
 * External tools for the mirror tests: the shared command runner and a private containerd daemon, wrapped with a
 * hosts.toml directory and a `ctr` bound to the daemon, for `ctr images pull` through the mirror.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run, tool, type RunResult } from '../../support/commands.ts';
import { startContainerd as startDaemon } from '../../support/containerd.ts';

export { run, tool, type RunResult };

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
  /** Stops the daemon and removes its directory. */
  stop(): Promise<void>;
}

/** Starts containerd with its state under a temp dir; resolves once `ctr version` answers (bounded). */
export async function startContainerd(): Promise<Containerd> {
  const dir = tempDir('mirror-containerd');
  let daemon;
  try {
    daemon = await startDaemon(dir);
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    throw error;
  }
  const hostsDir = path.join(dir, 'certs.d');
  fs.mkdirSync(hostsDir);
  return {
    socket: daemon.socket,
    dir,
    hostsDir,
    ctr: (args, timeoutMs = 60_000) => run([tool('ctr'), '--address', daemon.socket, '--namespace', 'marina-mirror-test', ...args], { timeoutMs }),
    log: daemon.log,
    async stop() {
      await daemon.stop();
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}
