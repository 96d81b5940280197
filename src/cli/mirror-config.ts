/**
 * Mirror settings for `marina serve`: upstreams from the config, with credentials from the config, the
 * environment (`MARINA_MIRROR_<NAME>_USERNAME` / `_PASSWORD`, NAME upper-cased with non-alphanumerics as `_`),
 * or a Docker `config.json` (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Credentials } from '../client/auth.ts';
import type { RegistryOptions } from '../options.ts';
import { DOCKER_HUB } from '../mirror/options.ts';
import type { ServeConfig } from './config.ts';

/** The registry's mirror option for a server config, or undefined when no upstream is configured. */
export function mirrorOptions(config: ServeConfig, env: Record<string, string | undefined>): RegistryOptions['mirror'] {
  if (!config.mirrors.length) return undefined;
  const docker = readDockerConfig(env);
  return {
    defaultUpstream: config.mirrorDefault,
    cacheMaxBytes: config.cacheMax,
    highWatermark: config.cacheHighWatermark,
    lowWatermark: config.cacheLowWatermark,
    staleWhileRevalidateSeconds: config.mirrorStaleWhileRevalidate,
    staleIfErrorSeconds: config.mirrorStaleIfError,
    upstreams: config.mirrors.map((m) => {
      const key = m.name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
      const username = m.username ?? env[`MARINA_MIRROR_${key}_USERNAME`];
      const password = m.password ?? env[`MARINA_MIRROR_${key}_PASSWORD`];
      const credentials: Credentials | undefined =
        username !== undefined && password !== undefined ? { username, password } : docker(m.name, new URL(m.url).host);
      return {
        name: m.name,
        url: m.url,
        fallbackUrls: m.fallbackUrls,
        credentials,
        freshnessSeconds: m.freshnessSeconds ?? config.mirrorFreshness,
        freshnessByRepository: m.freshnessByRepository,
        overlay: m.overlay,
      };
    }),
  };
}

type Lookup = (name: string, host: string) => Credentials | undefined;

/** Credentials from a Docker config.json `auths` map, looked up by mirror name or upstream host. */
function readDockerConfig(env: Record<string, string | undefined>): Lookup {
  const file = path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json');
  let auths: Record<string, { auth?: string; username?: string; password?: string }> = {};
  try {
    auths = (JSON.parse(fs.readFileSync(file, 'utf8')) as { auths?: typeof auths }).auths ?? {};
  } catch {
    return () => undefined;
  }
  return (name, host) => {
    // Docker keeps Hub credentials under its legacy index URL.
    const keys = [name, host, `https://${host}`, ...(name === DOCKER_HUB.name ? ['https://index.docker.io/v1/', 'index.docker.io'] : [])];
    for (const key of keys) {
      const entry = auths[key];
      if (!entry) continue;
      if (entry.username && entry.password) return { username: entry.username, password: entry.password };
      if (entry.auth) {
        const decoded = atob(entry.auth);
        const colon = decoded.indexOf(':');
        if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
    }
    return undefined;
  };
}
