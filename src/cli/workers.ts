/**
 * `marina serve --workers N`: the primary process serves too and keeps N-1 worker processes (`bun main.ts serve`
 * with the same arguments) on the same port (`reusePort`) and data directory. The primary alone runs start-up
 * recovery (before any worker exists) and the schedules; it forwards SIGHUP, restarts a worker that dies (a bounded
 * number of times) and stops them all on shutdown.
 */
import * as os from 'node:os';
import type { Subprocess } from 'bun';
import type { Logger } from '../logger.ts';

/** Set in a worker's environment: the index of the worker (1..N-1; the primary is 0). */
export const WORKER_ENV = 'MARINA_WORKER_INDEX';

/** Restarts allowed per worker within {@link RESTART_WINDOW_MS}; a worker that keeps dying is left down. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** How long shutdown waits for workers to drain before killing them. */
const STOP_DEADLINE_MS = 30_000;

/** The number of processes `--workers` asks for: `auto` is one per core. */
export function workerCount(setting: number | 'auto'): number {
  return setting === 'auto' ? Math.max(1, os.availableParallelism()) : setting;
}

/** This process's worker index: 0 for the primary (or a single process), 1.. for a spawned worker. */
export function workerIndex(env: Record<string, string | undefined> = process.env): number {
  const value = env[WORKER_ENV];
  return value && /^\d{1,3}$/.test(value) ? Number(value) : 0;
}

/** The spawned workers of a primary. */
export interface WorkerPool {
  /** Sends a signal to every live worker (SIGHUP: reload). */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM to every worker, then waits until all have exited (SIGKILL after a deadline). */
  stop(): Promise<void>;
}

/**
 * Spawns workers 1..count-1 running `serve` with `argv` plus `--port <port>` (the port the primary bound, so `--port 0`
 * gives one shared port). Their output goes to this process's stdout/stderr.
 */
export function startWorkers(count: number, argv: string[], port: number, logger: Logger): WorkerPool {
  const main = Bun.main;
  const workers = new Map<number, Subprocess>();
  const restarts = new Map<number, number[]>();
  let stopping = false;

  const spawn = (index: number) => {
    const proc = Bun.spawn([process.execPath, main, 'serve', ...argv, '--port', String(port)], {
      env: { ...process.env, [WORKER_ENV]: String(index) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    workers.set(index, proc);
    void proc.exited.then((code) => {
      if (workers.get(index) === proc) workers.delete(index);
      if (stopping) return;
      const now = Date.now();
      const recent = (restarts.get(index) ?? []).filter((t) => now - t < RESTART_WINDOW_MS);
      if (recent.length >= MAX_RESTARTS) {
        logger.error('worker keeps dying; not restarting it', { worker: index, code, signal: proc.signalCode, restarts: recent.length });
        return;
      }
      restarts.set(index, [...recent, now]);
      logger.warn('worker exited; restarting it', { worker: index, pid: proc.pid, code, signal: proc.signalCode });
      spawn(index);
    });
  };
  for (let i = 1; i < count; i++) spawn(i);

  return {
    signal(signal) {
      for (const proc of workers.values()) proc.kill(signal);
    },
    async stop() {
      stopping = true;
      const live = [...workers.values()];
      for (const proc of live) proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const proc of live) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      }, STOP_DEADLINE_MS);
      await Promise.all(live.map((p) => p.exited));
      clearTimeout(timer);
    },
  };
}
