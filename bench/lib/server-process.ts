/**
 * One server process under test: started pinned, its output sent to a log file, ready when GET /v2/ answers 200,
 * and stopped with SIGTERM (then SIGKILL) within a bounded time.
 */
import type { Subprocess } from 'bun';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { pinned } from './pinning.ts';

/** How to start a server. */
export interface ServerCommand {
  argv: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Where stdout and stderr go. */
  logFile: string;
  /** Cores to pin to ("" for none). */
  cores: string;
}

/** A running server. */
export class ServerProcess {
  private constructor(
    private readonly proc: Subprocess,
    /** Milliseconds from spawn to the first 200 on /v2/. */
    readonly readyMs: number,
  ) {}

  /** The server's pid (taskset execs the program, so this is the server itself). */
  get pid(): number {
    return this.proc.pid;
  }

  /** Spawns the command and waits until `readyUrl` answers 200, at most `timeoutMs`. */
  static async start(command: ServerCommand, readyUrl: string, timeoutMs = 30_000): Promise<ServerProcess> {
    // One appending descriptor for both streams, so restarts add to the log and the streams never overwrite each other.
    const log = fs.openSync(command.logFile, 'a');
    const t0 = performance.now();
    const proc = Bun.spawn(pinned(command.cores, command.argv), {
      env: { ...process.env, ...command.env },
      stdin: 'ignore',
      stdout: log,
      stderr: log,
    });
    fs.closeSync(log);
    const deadline = t0 + timeoutMs;
    while (performance.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`${command.argv[0]} exited (${proc.exitCode ?? proc.signalCode}) before it was ready; see ${command.logFile}`);
      }
      if (await answers200(readyUrl)) return new ServerProcess(proc, performance.now() - t0);
      await Bun.sleep(2);
    }
    proc.kill('SIGKILL');
    throw new Error(`${command.argv[0]} not ready after ${timeoutMs} ms; see ${command.logFile}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.proc.exited;
    clearTimeout(timer);
  }
}

async function answers200(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** A free TCP port on 127.0.0.1 (asks the kernel, then releases it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
