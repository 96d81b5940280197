/**
 * Access control that live reload can rebuild. The registry and the server call through this object, so a SIGHUP
 * that re-reads the htpasswd file, the access rules or the token settings swaps the whole hook at once; a config
 * whose access control fails to build (unreadable file, bad rule) refuses the reload and the running hook stays.
 * Switching access control on or off changes what the registry was built with, so that needs a restart.
 */
import { serverAuth, type ServerAuth } from '../cli/auth-config.ts';
import type { ServeConfig } from '../cli/config.ts';
import type { Authorize } from '../http/auth.ts';
import type { Logger } from '../logger.ts';
import type { ConfigReloader } from './reload.ts';

// Settings the rebuilt hook takes in; a change to any of them is applied by the rebuild.
const AUTH_KEYS = [
  'auth', 'htpasswd', 'access', 'tokenKey', 'tokenService', 'tokenRealm', 'tokenTtl', 'tokenIssuer', 'tokenJwks',
  'tokenUserClaim', 'tokenGroupsClaim', 'rateLimit', 'rateBurst', 'mirrorRateLimit', 'mirrorRateBurst',
] as const satisfies readonly (keyof ServeConfig)[];

/** The server's access control, replaceable while running. */
export class LiveAuth {
  private current: ServerAuth;
  /** The hook to build the registry with: undefined when access control was off at startup (no cost per request). */
  readonly authorize: Authorize | undefined;

  constructor(initial: ServerAuth) {
    this.current = initial;
    this.authorize = initial.authorize && ((request) => this.current.authorize!(request));
  }

  /** The `/token` handler in force, if any. */
  get tokenEndpoint(): ServerAuth['tokenEndpoint'] {
    return this.current.tokenEndpoint;
  }

  get summary(): string {
    return this.current.summary;
  }

  get protects(): boolean {
    return this.current.protects;
  }

  /** Rebuilds access control on every reload (files may have changed even when their paths did not). */
  register(reloader: ConfigReloader<ServeConfig>, dataDir: string, logger: Logger): void {
    if (!this.authorize) return;
    reloader.prepare(async (next) => {
      const built = await serverAuth(next, dataDir, logger);
      if (!built.authorize) throw new Error('turning access control off needs a restart');
      return () => {
        this.current = built;
        logger.info('access control reloaded', { auth: built.summary });
      };
    });
    for (const key of AUTH_KEYS) reloader.live(key, () => {});
  }
}
