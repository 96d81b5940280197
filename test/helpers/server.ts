/**
 * A real `marina serve` process for integration tests: spawned with `--port 0`, its port read from the startup
 * line on stderr, stopped by signal. Every wait is bounded.
 */
import * as path from 'node:path';
import type { Subprocess } from 'bun';

const ROOT = path.resolve(import.meta.dir, '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');

/** A running server. */
export interface ServerProcess {
  proc: Subprocess<'ignore', 'pipe', 'pipe'>;
  port: number;
  /** `http://127.0.0.1:<port>` (`https://` when started with --tls-cert) */
  url: string;
  /** The startup line (`... listening on http://...`). */
  startupLine: string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Sends a signal and waits (bounded) for the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/** Runs the marina CLI to completion (bounded) and returns its exit code and output. */
export async function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Options of {@link startServer} beyond its arguments. */
export interface StartOptions {
  /** fsync on commit, as in production (durability tests); off (`--no-sync`) by default for speed. */
  sync?: boolean;
  /** The marina entry file to run (a built bundle); the sources' `src/cli/main.ts` by default. */
  entry?: string;
}

/** Starts `marina serve` on 127.0.0.1 with a kernel-chosen port; resolves once it logs its address. */
export async function startServer(
  dataDir: string,
  extraArgs: string[] = [],
  env: Record<string, string> = {},
  timeoutMs = 15_000,
  options: StartOptions = {},
): Promise<ServerProcess> {
  const args = ['serve', '--host', '127.0.0.1', '--port', '0', '--data', dataDir, '--log-format', 'text', ...(options.sync ? [] : ['--no-sync']), ...extraArgs];
  const proc = Bun.spawn([process.execPath, options.entry ?? MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  let text = '';
  let onText: (() => void) | undefined;
  const decoder = new TextDecoder();
  // Drain both pipes for the whole life of the process, so it never blocks on a full pipe.
  void (async () => {
    for await (const chunk of proc.stderr) {
      text += decoder.decode(chunk, { stream: true });
      onText?.();
    }
  })();
  void new Response(proc.stdout).text();

  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`marina did not start within ${timeoutMs} ms:\n${text}`)), timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      onText = undefined;
      proc.kill('SIGKILL');
      reject(e);
    };
    onText = () => {
      const found = text.split('\n').find((l) => / listening on https?:\/\//.test(l));
      if (found) {
        clearTimeout(timer);
        onText = undefined;
        resolve(found);
      }
    };
    proc.exited.then((code) => fail(new Error(`marina exited with ${code} before listening:\n${text}`)));
    onText();
  });
  const m = /listening on (https?):\/\/127\.0\.0\.1:(\d+)/.exec(line);
  if (!m) {
    proc.kill('SIGKILL');
    throw new Error(`no port in startup line: ${line}`);
  }
  const port = Number(m[2]);
  return {
    proc,
    port,
    url: `${m[1]}://127.0.0.1:${port}`,
    startupLine: line,
    stderr: () => text,
    async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), ms);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Peak resident memory (VmHWM) of a process in bytes, from /proc; undefined where /proc is unavailable. */
export async function peakRss(pid: number): Promise<number | undefined> {
  try {
    const status = await Bun.file(`/proc/${pid}/status`).text();
    const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends raw bytes over TCP and returns everything the server wrote until it closed the connection (bounded),
 * so tests can see headers exactly as they went over the wire.
 */
export async function rawHttp(port: number, request: string, timeoutMs = 5000): Promise<string> {
  const chunks: Uint8Array[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`raw request timed out after ${timeoutMs} ms`)), timeoutMs);
    Bun.connect({
      hostname: '127.0.0.1',
      port,
      socket: {
        open(socket) {
          socket.write(request);
        },
        data(_socket, data) {
          chunks.push(new Uint8Array(data));
        },
        close() {
          clearTimeout(timer);
          resolve();
        },
        error(_socket, error) {
          clearTimeout(timer);
          reject(error);
        },
      },
    }).catch(reject);
  });
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** Splits a raw HTTP/1.1 response into status, lower-cased header lines (name → all values) and body text. */
export function parseRaw(raw: string): { status: number; headers: Map<string, string[]>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: split < 0 ? '' : raw.slice(split + 4) };
}
