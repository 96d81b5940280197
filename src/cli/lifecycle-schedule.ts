/** Periodic lifecycle work inside `marina serve`: retention runs (and warm-ups) on their configured intervals. */
import { warmImages } from '../lifecycle/warm.ts';
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

/**
 * The configured warm list: once shortly after startup (so a warm-up cut short by a restart resumes; cached blobs
 * are skipped), then every `intervalMs` when set.
 */
export function scheduleWarm(registry: Registry, images: string[], options: { intervalMs?: number; platforms?: string[]; concurrency?: number }, logger: Logger): Schedule {
  const job = async () => {
    const report = await warmImages((request) => registry.fetch(request), images, { platforms: options.platforms, concurrency: options.concurrency, onProgress: (m) => logger.debug(`warm ${m}`) });
    for (const failure of report.failures) logger.warn(`warm-up: ${failure}`);
    logger.info('warm-up finished', { images: report.images, fetchedBlobs: report.fetchedBlobs, fetchedBytes: report.fetchedBytes, cachedBlobs: report.cachedBlobs, cachedBytes: report.cachedBytes, seconds: Number(report.seconds.toFixed(1)) });
  };
  let first: Promise<void> | undefined;
  const startup = setTimeout(() => {
    first = job().catch((error) => logger.error('warm-up failed', { error }));
  }, 1000);
  startup.unref();
  const repeating = options.intervalMs !== undefined ? every(options.intervalMs, 'warm-up', logger, job) : undefined;
  return {
    async stop() {
      clearTimeout(startup);
      await first;
      await repeating?.stop();
    },
  };
}
