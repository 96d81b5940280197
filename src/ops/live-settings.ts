/**
 * The settings `marina serve` changes without a restart, one line each. To make another setting live, add a line
 * here: `.live('key', (value, next) => ...)`. Everything not listed is reported as "needs a restart" on reload.
 */
import type { ServeConfig } from '../cli/config.ts';
import { mirrorOptions } from '../cli/mirror-config.ts';
import type { Logger } from '../logger.ts';
import type { Registry } from '../registry.ts';
import type { Ops } from './ops.ts';
import type { ConfigReloader } from './reload.ts';

/** Registers the live settings of a server. */
export function registerLiveSettings(reloader: ConfigReloader<ServeConfig>, registry: Registry, ops: Ops, logger: Logger, env: Record<string, string | undefined>): void {
  reloader
    .live('logLevel', (v) => (logger.level = v))
    .live('logFormat', (v) => (logger.format = v))
    .live('accessLog', (v) => (ops.settings.accessLog = v))
    .live('readyzUpstreams', (v) => (ops.settings.readyzUpstreams = v))
    .live('storageCensusSeconds', (v) => ops.census?.setInterval(v))
    .live('notifications', (v) => ops.notifier.configure(v))
    .live('deleteEnabled', (v) => (registry.settings.deleteEnabled = v))
    .live('readOnly', (v) => (registry.settings.readOnly = v))
    .live('referrersEnabled', (v) => (registry.settings.referrersEnabled = v))
    .live('maxManifestSize', (v) => (registry.settings.maxManifestSize = v))
    .live('maxUploadSize', (v) => (registry.settings.maxUploadSize = v))
    .live('maxUploadSessions', (v) => (registry.settings.maxUploadSessions = v))
    .live('maxUploadSessionsPerRepository', (v) => (registry.settings.maxUploadSessionsPerRepository = v))
    .live('maxUploadSessionsPerUser', (v) => (registry.settings.maxUploadSessionsPerUser = v))
    .live('mirrorFreshness', (_v, next) => applyMirrorFreshness(registry, next, env))
    .live('mirrors', (_v, next) => applyMirrorFreshness(registry, next, env));
}

/**
 * Freshness windows of existing upstreams change live; adding, removing or re-pointing an upstream needs a restart
 * (its client, credentials and cached repositories are built at startup).
 */
function applyMirrorFreshness(registry: Registry, next: ServeConfig, env: Record<string, string | undefined>): void {
  const running = registry.mirror?.router.upstreams ?? [];
  const wanted = mirrorOptions(next, env)?.upstreams ?? [];
  const shape = (list: { name: string; url: string; overlay?: boolean }[]) => JSON.stringify(list.map((u) => [u.name, u.url, !!u.overlay]).sort());
  if (shape(running) !== shape(wanted)) throw new Error('adding, removing or changing the URL of a mirror upstream needs a restart');
  for (const u of running) {
    const w = wanted.find((x) => x.name === u.name)!;
    u.freshnessSeconds = w.freshnessSeconds;
    u.freshnessByRepository = w.freshnessByRepository;
  }
}
