/** The referrers API (distribution-spec "Listing Referrers"). */
import { RegistryError } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import type { ReferrerDescriptor } from '../storage/types.ts';
import type { CoreContext } from './context.ts';

/** A page of referrers. */
export interface ReferrersPage {
  manifests: ReferrerDescriptor[];
  /** True when `artifactType` filtering was applied (OCI-Filters-Applied). */
  filtered: boolean;
  /** The cursor of the next page, when there is one. */
  next?: Digest;
}

/** Referrers of `subject` in `repository`, possibly filtered by artifact type; an unknown subject has none. */
export function listReferrers(ctx: CoreContext, repository: string, subject: Digest, options: { artifactType?: string; after?: Digest } = {}): ReferrersPage {
  if (!ctx.settings.referrersEnabled) throw new RegistryError('UNSUPPORTED', 'the referrers API is disabled on this registry', { status: 404 });
  const all = ctx.index.listReferrers(repository, subject, options.artifactType);
  const start = options.after ? all.findIndex((d) => d.digest > options.after!) : 0;
  const from = start < 0 ? all.length : start;
  const manifests = all.slice(from, from + ctx.settings.referrersPageSize);
  const page: ReferrersPage = { manifests, filtered: options.artifactType !== undefined };
  const last = manifests.at(-1);
  if (from + manifests.length < all.length && last) page.next = last.digest;
  return page;
}
