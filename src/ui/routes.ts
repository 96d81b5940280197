/**
 * The web page's URL space and its one entry point. `marina serve` sends `/` and `/ui/...` here (unless `--no-ui`);
 * everything else stays with the registry. Pages:
 *
 * - `/ui/` repositories (search `?q=`, pages `?last=`), `/ui/r/<name>` its tags, `/ui/r/<name>@<digest>` or
 *   `/ui/r/<name>:<tag>` a manifest or index, `/ui/mirror`, `/ui/storage` (POST computes), `/ui/login`
 * - `/ui/api/...` JSON (see api.ts), `/ui/assets/...` the stylesheet and script
 */
import { isRegistryError, RegistryError } from '../errors.ts';
import { login, uiCaller } from './access.ts';
import { apiResponse } from './api.ts';
import { STYLESHEET, SCRIPT } from './assets.ts';
import { uiContext, type UiContext, type WebUiOptions } from './context.ts';
import { html } from './html.ts';
import { jsonResponse, page, UI_HEADERS, type ShellOptions } from './layout.ts';
import { loadManifest, loadMirror, loadRepositories, loadStorage, loadTags, startStorage } from './loaders.ts';
import { mirrorBody, storageBody } from './ops-pages.ts';
import { manifestBody, repositoryListBody, tagListBody, type PullTarget } from './registry-pages.ts';

export type { WebUiOptions } from './context.ts';

/** The web page: a fetch handler for its paths. */
export interface WebUi {
  /** Answers a request for `/` or `/ui/...`. */
  fetch(request: Request): Promise<Response>;
  /** Stops the mirror sampler. */
  close(): Promise<void>;
}

export { isUiPath } from './paths.ts';

const ASSETS: Record<string, [string, string]> = {
  'marina.css': ['text/css; charset=utf-8', STYLESHEET],
  'marina.js': ['text/javascript; charset=utf-8', SCRIPT],
};

/** Builds the web page of a registry. */
export function createWebUi(options: WebUiOptions): WebUi {
  const ctx = uiContext(options);
  return {
    async fetch(request) {
      const url = new URL(request.url);
      const response = await route(ctx, request, url).catch((error) => failure(ctx, error, url.pathname.startsWith('/ui/api/')));
      if (request.method !== 'HEAD') return response;
      return new Response(null, { status: response.status, headers: response.headers });
    },
    async close() {
      ctx.samples?.stop();
      await ctx.storage.idle();
    },
  };
}

async function route(ctx: UiContext, request: Request, url: URL): Promise<Response> {
  const path = url.pathname;
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  if (path === '/' || path === '/ui') return redirect('/ui/');
  if (path.startsWith('/ui/assets/')) {
    const asset = ASSETS[path.slice('/ui/assets/'.length)];
    if (!asset) throw notFound(path);
    return new Response(asset[1], { headers: { ...UI_HEADERS, 'Content-Type': asset[0], 'Cache-Control': 'public, max-age=300' } });
  }
  if (path === '/ui/login') return login(ctx.options.authorize, request, ctx.options.realm ?? 'marina');
  const writes = method === 'POST' && (path === '/ui/storage' || path === '/ui/api/storage');
  if (method !== 'GET' && !writes) throw new RegistryError('UNSUPPORTED', `method ${request.method} is not allowed here`, { headers: { Allow: 'GET, HEAD' } });
  if (writes) checkSameOrigin(request, url);
  const caller = await uiCaller(ctx.options.authorize, request);
  if (path.startsWith('/ui/api/')) return apiResponse(ctx, caller, path.slice('/ui/api/'.length), method, url.searchParams);
  const shell = (title: string, section?: ShellOptions['section'], refreshSeconds?: number): ShellOptions => ({
    title,
    section,
    refreshSeconds,
    mirror: ctx.registry.mirror !== undefined,
    user: caller.loggedIn ? caller.identity?.subject : undefined,
    canLogIn: caller.protected && !caller.loggedIn,
    path: path + url.search,
  });
  if (path === '/ui/') {
    const mayList = await caller.mayCatalog();
    const list = mayList ? await loadRepositories(ctx, caller, url.searchParams) : { items: [], scanned: 0 };
    const body = repositoryListBody(list, url.searchParams.get('q')?.trim().slice(0, 128) || undefined, mayList);
    return withStatus(page(shell('Repositories', 'repositories'), body), mayList ? 200 : 403);
  }
  if (path === '/ui/mirror') return page(shell('Mirror', 'mirror'), mirrorBody(await loadMirror(ctx, caller)));
  if (path === '/ui/storage') {
    if (method === 'POST') {
      await startStorage(ctx, caller);
      return redirect('/ui/storage');
    }
    const { state, result } = await loadStorage(ctx, caller);
    return page(shell('Storage', 'storage', state.running ? 2 : undefined), storageBody(state, result));
  }
  if (path.startsWith('/ui/r/')) {
    const target = pullTarget(url);
    const { name, reference } = parseRepositoryPath(path.slice('/ui/r/'.length));
    if (reference) return page(shell(`${name}@${reference}`, 'repositories'), manifestBody(await loadManifest(ctx, caller, name, reference), target));
    const q = url.searchParams.get('q')?.trim().slice(0, 128) || undefined;
    return page(shell(name, 'repositories'), tagListBody(await loadTags(ctx, caller, name, url.searchParams), target, q));
  }
  throw notFound(path);
}

/** `<name>`, `<name>@<digest>` or `<name>:<tag>` (names contain neither `@` nor `:`). */
export function parseRepositoryPath(rest: string): { name: string; reference?: string } {
  let text: string;
  try {
    text = decodeURIComponent(rest);
  } catch {
    throw new RegistryError('NAME_INVALID', 'the address is not valid percent-encoding', { status: 400 });
  }
  const at = text.indexOf('@');
  if (at >= 0) return { name: text.slice(0, at), reference: text.slice(at + 1) };
  const colon = text.indexOf(':', text.lastIndexOf('/') + 1);
  if (colon >= 0) return { name: text.slice(0, colon), reference: text.slice(colon + 1) };
  return { name: text.replace(/\/$/, '') };
}

function pullTarget(url: URL): PullTarget {
  return { host: url.host, insecure: url.protocol === 'http:' };
}

/** A form POST from another site must not start work here (the browser sends Origin on cross-site POSTs). */
function checkSameOrigin(request: Request, url: URL): void {
  const origin = request.headers.get('origin');
  if (origin !== null && origin !== url.origin) throw new RegistryError('DENIED', 'cross-site request refused');
}

function redirect(location: string): Response {
  return new Response(null, { status: 303, headers: { ...UI_HEADERS, Location: location } });
}

function withStatus(response: Response, status: number): Response {
  return status === response.status ? response : new Response(response.body, { status, headers: response.headers });
}

function notFound(path: string): RegistryError {
  return new RegistryError('UNSUPPORTED', `no such page: ${path.slice(0, 200)}`, { status: 404 });
}

/** Errors become the registry's JSON body under `/ui/api/`, and a short page elsewhere. */
function failure(ctx: UiContext, error: unknown, api: boolean): Response {
  if (!isRegistryError(error)) ctx.options.logger?.error('web page request failed', { error });
  const e = isRegistryError(error) ? error : new RegistryError('UNKNOWN', 'internal server error');
  const headers = e.headers?.Allow ? { Allow: e.headers.Allow } : {};
  if (api) {
    const response = jsonResponse(e.toBody(), e.status);
    for (const [k, v] of Object.entries(headers)) response.headers.set(k, v);
    return response;
  }
  const login = e.code === 'DENIED' && ctx.options.authorize ? html`<p><a href="/ui/login?next=/ui/">Log in</a> as a user who may.</p>` : '';
  const body = html`<h1>${e.status === 404 ? 'Not found' : e.status === 403 ? 'Not allowed' : 'Something went wrong'}</h1><p>${e.message}</p>${login}<p><a href="/ui/">Back to the repositories</a></p>`;
  const shell: ShellOptions = { title: 'Error', mirror: ctx.registry.mirror !== undefined, canLogIn: false, path: '/ui/' };
  const response = page(shell, body);
  return new Response(response.body, { status: e.status, headers: { ...Object.fromEntries(response.headers), ...headers } });
}

