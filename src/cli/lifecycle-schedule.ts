/** Periodic lifecycle work inside `marina serve`: retention runs (and warm-ups) on their configured intervals. */
import type { Logger } from '../logger.ts';
import type { Registry } from '../registry.ts';

/** A repeating job that never overlaps itself; `stop` waits for a run in progress. */
export interface Schedule {
  stop(): Promise<void>;
}

/** Runs `job` every `intervalMs` (first run after one interval); failures are logged, never thrown. */
export function every(intervalMs: number, name: string, logger: Logger, job: () => Promise<void>): Schedule {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return logger.warn(`${name}: previous run still going; skipping this one`);
    running = job()
      .catch((error) => logger.error(`${name} failed`, { error }))
      .finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** Scheduled retention: every deletion and the summary go to the log. */
export function scheduleRetention(registry: Registry, intervalMs: number, logger: Logger): Schedule {
  return every(intervalMs, 'retention', logger, async () => {
    const report = await registry.runRetention({ onProgress: (message) => (message.startsWith('deleted') ? logger.info(`retention ${message}`) : logger.debug(`retention ${message}`)) });
    logger.info('retention run finished', { repositories: report.repositories, tags: report.tags, manifests: report.manifests, unreferencedBytes: report.freedBytes });
  });
}
