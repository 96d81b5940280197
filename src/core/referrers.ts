/** The referrers API (distribution-spec "Listing Referrers"). */
import { RegistryError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import type { ReferrerDescriptor } from '../storage/types.ts';
import type { CoreContext } from './context.ts';

/** A page of referrers. */
export interface ReferrersPage {
  /** Never changed: it may be the index's cached list. */
  manifests: readonly ReferrerDescriptor[];
  /** True when `artifactType` filtering was applied (OCI-Filters-Applied). */
  filtered: boolean;
  /** The cursor of the next page, when there is one. */
  next?: Digest;
}

/** Referrers of `subject` in `repository`, possibly filtered by artifact type; an unknown subject has none. */
export async function listReferrers(ctx: CoreContext, repository: string, subject: Digest, options: { artifactType?: string; after?: Digest } = {}): Promise<ReferrersPage> {
  if (!ctx.settings.referrersEnabled) throw new RegistryError('UNSUPPORTED', 'the referrers API is disabled on this registry', { status: 404 });
  const size = ctx.settings.referrersPageSize;
  // One more than a page tells whether another follows. An index may ignore the range, so trim here too.
  let found = await ctx.index.listReferrers(repository, subject, options.artifactType, { after: options.after, limit: size + 1 });
  if (options.after !== undefined && found[0] !== undefined && found[0].digest <= options.after) found = found.filter((d) => d.digest > options.after!);
  const manifests = found.length > size ? found.slice(0, size) : found;
  const page: ReferrersPage = { manifests, filtered: options.artifactType !== undefined };
  const last = manifests.at(-1);
  if (found.length > size && last) page.next = last.digest;
  return page;
}
