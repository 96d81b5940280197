/**
 * The web page asks the registry's own `authorize` hook: a caller sees only repositories they may pull, the
 * repository list (and the registry-wide mirror and storage pages) needs the `catalog` action, exactly as
 * `/v2/_catalog` does. Browsers log in with Basic credentials (accepted in both basic and token modes).
 */
import { permits, type Authorize, type Identity } from '../http/auth.ts';

/** What one request may see. */
export interface UiCaller {
  /** Who the hook says the caller is (undefined without access control). */
  identity?: Identity;
  /** True when access control is on at all. */
  protected: boolean;
  /** True when the caller has logged in (not anonymous). */
  loggedIn: boolean;
  /** May the caller list repositories (`catalog`)? */
  mayCatalog(): Promise<boolean>;
  /** May the caller pull `repository` directly (a repository or manifest page)? */
  mayPull(repository: string): Promise<boolean>;
  /** May the caller see `repository` as an entry of a listing? */
  mayList(repository: string): Promise<boolean>;
  /** May the caller delete in `repository`? (The page offers no deletes; the API reports it for scripts.) */
  mayDelete(repository: string): Promise<boolean>;
}

/** The caller of `request`, as far as the hook tells. */
export async function uiCaller(authorize: Authorize | undefined, request: Request): Promise<UiCaller> {
  let identity: Identity | undefined;
  if (authorize) {
    // The base probe names the caller; a refusal just means anonymous (or bad credentials) here.
    const probe = await authorize({ request, repository: null, action: 'pull' });
    identity = probe.identity;
  }
  const ask = (repository: string | null, action: 'pull' | 'catalog' | 'delete', indirect?: 'listing') => permits(authorize, { request, repository, action, indirect });
  let catalog: Promise<boolean> | undefined;
  return {
    identity,
    protected: authorize !== undefined,
    loggedIn: identity !== undefined && identity.via !== 'anonymous' && identity.subject !== 'anonymous',
    mayCatalog: () => (catalog ??= ask(null, 'catalog')),
    mayPull: (repository) => ask(repository, 'pull'),
    mayList: (repository) => (authorize ? ask(repository, 'pull', 'listing') : Promise.resolve(true)),
    mayDelete: (repository) => ask(repository, 'delete'),
  };
}

/**
 * The answer to `/ui/login`: 401 with a Basic challenge until the browser sends credentials the hook accepts,
 * then a redirect to where the user came from (a path of this site only).
 */
export async function login(authorize: Authorize | undefined, request: Request, realm: string): Promise<Response> {
  const next = safeNext(new URL(request.url).searchParams.get('next'));
  if (authorize) {
    const probe = await authorize({ request, repository: null, action: 'pull' });
    const named = probe.identity && probe.identity.via !== 'anonymous';
    if (!probe.allow || !named) {
      return new Response('Log in with your registry user name and password.\n', {
        status: 401,
        headers: { 'WWW-Authenticate': `Basic realm="${realm.replace(/["\\]/g, '')}", charset="UTF-8"`, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
      });
    }
  }
  return new Response(null, { status: 303, headers: { Location: next, 'Cache-Control': 'no-store' } });
}

/** Only same-site UI paths are followed after a login (no open redirect). */
function safeNext(next: string | null): string {
  return next && /^\/ui\/[\x21-\x7e]{0,2000}$/.test(next) && !next.startsWith('/ui//') && !next.includes('\\') ? next : '/ui/';
}
