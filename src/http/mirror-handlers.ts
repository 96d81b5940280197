/** Listings of mirrored repositories: the same wire format as local listings, plus Cache-Status, Warning and OCI-Namespace. */
import type { CacheOutcome } from '../core/read-through.ts';
import { parseDigest } from '../oci/digest.ts';
import { OCI_INDEX } from '../oci/media-types.ts';
import type { Mirror } from '../mirror/mirror.ts';
import type { MirrorTarget } from '../mirror/routing.ts';
import { pageTags } from '../core/listings.ts';
import { nextLink, pageQuery } from './listing-handlers.ts';
import { paths } from './paths.ts';
import { withCacheStatus } from './cache-status.ts';
import type { HeaderRecord } from './representations.ts';
import type { Exchange } from './request.ts';
import { baseHeaders, json } from './responses.ts';

/** Answers a tags or referrers GET for a mirrored repository (manifests and blobs go through core's reads). */
export async function mirrorRead(x: Exchange, mirror: Mirror, target: MirrorTarget): Promise<Response> {
  const route = x.route;
  const decorate = (headers: HeaderRecord, outcome: CacheOutcome): HeaderRecord => withCacheStatus(headers, outcome, x.query.get('ns'));
  switch (route.kind) {
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
