/**
 * Which upstream a request is for: containerd's `?ns=<host>`, a path prefix (`/v2/<host>/<repo>/…`), or the
 * default upstream for plain names that are not local repositories. Mirrored content is cached under the
 * repository `<upstream name>/<upstream repository>`, so the three spellings share one cache.
 */
import { RegistryError } from '../errors.ts';
import { DOCKER_HUB, type UpstreamOptions } from './options.ts';

/** A request routed to an upstream. */
export interface MirrorTarget {
  upstream: UpstreamOptions;
  /** The repository name at the upstream (Docker Hub names normalised with `library/`). */
  remote: string;
  /** The local repository holding the cache. */
  local: string;
}

/** Resolves names to upstreams. */
export class MirrorRouter {
  private readonly byName = new Map<string, UpstreamOptions>();

  constructor(
    upstreams: UpstreamOptions[],
    private readonly defaultName: string | undefined,
  ) {
    for (const u of upstreams) {
      this.byName.set(u.name, u);
      // containerd sends the registry host as ns; accept the API host too (registry-1.docker.io for docker.io).
      const host = new URL(u.url).host;
      if (!this.byName.has(host)) this.byName.set(host, u);
    }
  }

  /**
   * The upstream a request names, or undefined for local repositories.
   * @param ns the `ns` query parameter, if any
   * @param isLocal whether the repository exists locally (plain names then stay local)
   * @param write true for pushes and deletes: a plain name then names a local repository (creating it), never the
   *   default upstream, or no local repository with a plain name could ever be pushed on a mirror
   * @throws DENIED for an `ns` that is not configured: the mirror is not an open proxy
   */
  async resolve(name: string, ns: string | null, isLocal: (name: string) => boolean | Promise<boolean>, write = false): Promise<MirrorTarget | undefined> {
    if (ns !== null) {
      const upstream = this.byName.get(ns);
      if (!upstream) throw new RegistryError('DENIED', `ns=${ns.slice(0, 100)} is not a configured upstream`);
      return this.target(upstream, name);
    }
    const slash = name.indexOf('/');
    if (slash > 0) {
      const upstream = this.byName.get(name.slice(0, slash));
      if (upstream) return this.target(upstream, name.slice(slash + 1));
    }
    if (this.defaultName === undefined || write || (await isLocal(name))) return undefined;
    return this.target(this.byName.get(this.defaultName)!, name);
  }

  /** The configured upstreams. */
  get upstreams(): UpstreamOptions[] {
    return [...new Set(this.byName.values())];
  }

  private target(upstream: UpstreamOptions, name: string): MirrorTarget {
    const remote = upstream.name === DOCKER_HUB.name && !name.includes('/') ? `library/${name}` : name;
    return { upstream, remote, local: `${upstream.name}/${remote}` };
  }
}
