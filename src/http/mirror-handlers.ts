/** Reads of mirrored repositories: the same wire format as local reads, plus Cache-Status, Warning and OCI-Namespace. */
import { parseReference } from '../core/references.ts';
import { parseDigest } from '../oci/digest.ts';
import { OCI_INDEX } from '../oci/media-types.ts';
import type { CacheOutcome, Mirror } from '../mirror/mirror.ts';
import type { MirrorTarget } from '../mirror/routing.ts';
import { pageTags } from '../core/listings.ts';
import { nextLink, pageQuery } from './listing-handlers.ts';
import { paths } from './paths.ts';
import { blobHeaders, blobResponse, headResponse, manifestResponse, sliceBlob, type HeaderRecord } from './representations.ts';
import type { Exchange } from './request.ts';
import { baseHeaders, json } from './responses.ts';

// RFC 9211 Cache-Status, with Marina's own word for each outcome in `detail`.
const CACHE_STATUS: Record<CacheOutcome, string> = {
  hit: 'marina; hit',
  revalidated: 'marina; hit; detail=revalidated',
  stale: 'marina; hit; detail=stale',
  miss: 'marina; fwd=miss',
  joined: 'marina; fwd=miss; collapsed; detail=joined',
};

/** Answers a GET or HEAD for a mirrored repository. */
export async function mirrorRead(x: Exchange, mirror: Mirror, target: MirrorTarget): Promise<Response> {
  const head = x.method === 'HEAD';
  const route = x.route;
  const decorate = (headers: HeaderRecord, outcome: CacheOutcome): HeaderRecord => {
    headers['Cache-Status'] = CACHE_STATUS[outcome];
    if (outcome === 'stale') headers.Warning = '299 - "upstream unavailable; serving cached content that may be stale"';
    const ns = x.query.get('ns');
    if (ns !== null) headers['OCI-Namespace'] = ns;
    return headers;
  };
  switch (route.kind) {
    case 'manifest': {
      parseReference(route.reference);
      const { record, outcome } = await mirror.manifest(target, route.reference);
      return manifestResponse(record, head, decorate({}, outcome));
    }
    case 'blob': {
      const digest = parseDigest(route.digest);
      const blob = await mirror.blob(target, digest, head);
      const headers = decorate(blobHeaders(digest), blob.outcome);
      if (blob.kind === 'remote-head' || head) return headResponse(headers, blob.size ?? 0);
      if (blob.kind === 'stored') return blobResponse(headers, blob.size, x.request.headers.get('range'), sliceBlob(blob.body));
      const fill = blob.fill;
      // Without a size from upstream the response has to be chunked; ranges need the size, so they wait for it.
      if (blob.size === undefined) return new Response(fill.reader(), { status: 200, headers });
      return blobResponse(headers, blob.size, x.request.headers.get('range'), (r) => fill.reader(r?.start ?? 0, r?.end));
    }
    case 'tags': {
      const { tags, outcome } = await mirror.tags(target);
      const query = pageQuery(x.query);
      const listing = pageTags(x.core, tags, query);
      const headers = baseHeaders(decorate({}, outcome));
      if (listing.next !== undefined) {
        // The next page must reach the same upstream, so containerd's ns goes along.
        const params: Record<string, string> = { n: String(query.n ?? listing.items.length), last: listing.next };
        const ns = x.query.get('ns');
        if (ns !== null) params.ns = ns;
        headers.set('Link', nextLink(paths.tags(route.name), params));
      }
      return json({ name: route.name, tags: listing.items }, 200, headers);
    }
    case 'referrers': {
      const subject = parseDigest(route.digest);
      const artifactType = x.query.get('artifactType') ?? undefined;
      const { manifests, outcome } = await mirror.referrers(target, subject, artifactType);
      const headers = baseHeaders(decorate({}, outcome));
      if (artifactType !== undefined) headers.set('OCI-Filters-Applied', 'artifactType');
      return json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }, 200, headers, OCI_INDEX);
    }
    default:
      throw new Error(`not a mirrored read: ${route.kind}`);
  }
}
