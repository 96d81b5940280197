/**
 * `/ui/api/`: the JSON the pages are built from, for scripts too. Every endpoint is GET, answers the same data
 * the page shows to the same caller, and fails with the registry's JSON error body:
 *
 * - `GET /ui/api/repositories?q=&last=&n=` → `{ items: [{ name, tags, tagsCapped, manifests, size, sizePartial, lastPush }], next?, scanned }`
 * - `GET /ui/api/tags?name=&q=&last=&n=` → `{ repository, items: [{ tag, digest, mediaType, artifactType?, size, platforms?, pushedAt? }], next?, scanned, pushTimeNote }`
 * - `GET /ui/api/manifest?name=&ref=` → `{ repository, digest, mediaType, size, isIndex, config?, layers, manifests, subject?, annotations, referrers, referrersTruncated }`
 * - `GET /ui/api/mirror` → `{ counters, upstreams, budget?, samples, topImages, evictionOrder }`
 * - `GET /ui/api/storage` → `{ state: { running? }, result? }`; `POST /ui/api/storage` starts a computation (202)
 */
import { RegistryError } from '../errors.ts';
import type { UiCaller } from './access.ts';
import type { UiContext } from './context.ts';
import { jsonResponse } from './layout.ts';
import { loadManifest, loadMirror, loadRepositories, loadStorage, loadTags, startStorage } from './loaders.ts';
import { TOP_IMAGES } from './ops-pages.ts';

/** Answers one `/ui/api/<endpoint>` request. */
export async function apiResponse(ctx: UiContext, caller: UiCaller, endpoint: string, method: string, params: URLSearchParams): Promise<Response> {
  const name = () => required(params, 'name');
  if (method === 'POST') {
    if (endpoint !== 'storage') throw notAllowed();
    const started = await startStorage(ctx, caller);
    return jsonResponse({ started, ...(await loadStorage(ctx, caller)) }, 202);
  }
  switch (endpoint) {
    case 'repositories':
      return jsonResponse(await loadRepositories(ctx, caller, params));
    case 'tags':
      return jsonResponse(await loadTags(ctx, caller, name(), params));
    case 'manifest':
      return jsonResponse(await loadManifest(ctx, caller, name(), required(params, 'ref')));
    case 'mirror': {
      const data = await loadMirror(ctx, caller);
      return jsonResponse({
        counters: data.reading.counters,
        upstreams: data.reading.upstreams,
        budget: data.budget,
        samples: data.samples,
        topImages: [...(data.visibleImages ?? [])].sort((a, b) => b.size - a.size).slice(0, TOP_IMAGES),
        evictionOrder: data.visibleEviction,
      });
    }
    case 'storage':
      return jsonResponse(await loadStorage(ctx, caller));
    default:
      throw new RegistryError('UNSUPPORTED', `no such endpoint: /ui/api/${endpoint.slice(0, 100)}`, { status: 404 });
  }
}

function required(params: URLSearchParams, key: string): string {
  const value = params.get(key);
  if (!value) throw new RegistryError('UNSUPPORTED', `query parameter ${key} is required`, { status: 400 });
  return value;
}

function notAllowed(): RegistryError {
  return new RegistryError('UNSUPPORTED', 'only GET is allowed here', { headers: { Allow: 'GET, HEAD' } });
}
