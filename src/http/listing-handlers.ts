/** The discovery endpoints: base, tags list, catalog, referrers. */
import { badQuery, listRepositories, listTags, type PageQuery } from '../core/listings.ts';
import { listReferrers } from '../core/referrers.ts';
import { visibleRepositories } from './catalog-filter.ts';
import { parseDigest, type Digest } from '../oci/digest.ts';
import { OCI_INDEX } from '../oci/media-types.ts';
import { paths, type Route } from './paths.ts';
import { singleParam, type Exchange } from './request.ts';
import { baseHeaders, encodedJson, json } from './responses.ts';
import type { ReferrerDescriptor } from '../storage/types.ts';

// A media type is at most 127 + "/" + 127 characters (RFC 6838 §4.2).
const MAX_ARTIFACT_TYPE_LENGTH = 255;

/** GET /v2/: the API is here. */
export function getBase(): Response {
  return json({});
}

/** GET /v2/<name>/tags/list?n=&last= */
export async function getTags(x: Exchange<Extract<Route, { kind: 'tags' }>>, name: string): Promise<Response> {
  const query = pageQuery(x.query);
  const listing = await listTags(x.core, name, query);
  const headers = baseHeaders();
  if (listing.next !== undefined) headers.set('Link', nextLink(paths.tags(name), { n: String(query.n ?? listing.items.length), last: listing.next }));
  return json({ name, tags: listing.items }, 200, headers);
}

/** GET /v2/_catalog?n=&last= */
export async function getCatalog(x: Exchange<Extract<Route, { kind: 'catalog' }>>): Promise<Response> {
  const query = pageQuery(x.query);
  // With an authorize hook, only what the caller may pull is listed.
  const listing = x.mayList ? await visibleRepositories(x.core, query, x.mayList) : await listRepositories(x.core, query);
  const headers = baseHeaders();
  if (listing.next !== undefined) headers.set('Link', nextLink(paths.catalog(), { n: String(query.n ?? listing.items.length), last: listing.next }));
  return json({ repositories: listing.items }, 200, headers);
}

/** GET /v2/<name>/referrers/<digest>?artifactType= — always an image index, empty when nothing refers. */
export async function getReferrers(x: Exchange<Extract<Route, { kind: 'referrers' }>>, name: string): Promise<Response> {
  const subject = parseDigest(x.route.digest);
  const artifactType = singleParam(x.query, 'artifactType', badQuery) ?? undefined;
  if (artifactType !== undefined && artifactType.length > MAX_ARTIFACT_TYPE_LENGTH) throw badQuery('artifactType', 'is too long');
  const lastParam = singleParam(x.query, 'last', badQuery);
  const after: Digest | undefined = lastParam === null ? undefined : parseDigest(lastParam);
  const page = await listReferrers(x.core, name, subject, { artifactType, after });
  const headers = baseHeaders();
  if (page.filtered) headers.set('OCI-Filters-Applied', 'artifactType');
  if (page.next) {
    const params: Record<string, string> = { last: page.next };
    if (artifactType !== undefined) params.artifactType = artifactType;
    headers.set('Link', nextLink(paths.referrers(name, subject), params));
  }
  return encodedJson(referrersBody(page.manifests), 200, headers, OCI_INDEX);
}

// The index hands out the same (never changed) list until a write, so its encoded body is kept beside it: encoding
// hundreds of descriptors was most of a cached referrers request.
const encodedReferrers = new WeakMap<readonly ReferrerDescriptor[], Uint8Array>();
const encoder = new TextEncoder();

function referrersBody(manifests: readonly ReferrerDescriptor[]): Uint8Array {
  let body = encodedReferrers.get(manifests);
  if (!body) {
    body = encoder.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
    encodedReferrers.set(manifests, body);
  }
  return body;
}

/** `n` and `last` from a query string. @throws 400 for an `n` that is not a non-negative integer, or a repeated one */
export function pageQuery(q: URLSearchParams): PageQuery {
  const query: PageQuery = {};
  const n = singleParam(q, 'n', badQuery);
  if (n !== null) {
    if (!/^\d{1,9}$/.test(n)) throw badQuery('n', 'must be a non-negative integer');
    query.n = Number(n);
  }
  const last = singleParam(q, 'last', badQuery);
  if (last !== null) query.last = last;
  return query;
}

/** A `Link: <…>; rel="next"` value. */
export function nextLink(path: string, params: Record<string, string>): string {
  return `<${path}?${new URLSearchParams(params)}>; rel="next"`;
}
