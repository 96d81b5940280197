/** Manifest push, pull and delete (distribution-spec "Pushing manifests", "Pulling manifests", "Deleting manifests"). */
import { RegistryError } from '../errors.ts';
import { digestOf, digestAlgorithm, type Digest } from '../oci/digest.ts';
import { parseManifest, type ReferencedSize } from '../oci/manifest.ts';
import { parseTag } from '../oci/names.ts';
import { andThen } from '../storage/maybe.ts';
import type { ManifestRecord, MaybePromise } from '../storage/types.ts';
import { emit, manifestLockKey, type CoreContext } from './context.ts';
import { assertDeletable, assertWritable } from './guards.ts';
import { lookupReference, parseReference } from './references.ts';
import { negotiate } from './negotiate.ts';
import type { CacheOutcome, ReadThrough } from './read-through.ts';

/** What a successful manifest push reports. */
export interface PutManifestResult {
  digest: Digest;
  /** Every tag now pointing at the manifest because of this push. */
  tags: string[];
  subject?: Digest;
}

/**
 * The manifest a tag or digest names in `repository`; synchronous when the index answers synchronously (the hot
 * path of every pull). @throws MANIFEST_UNKNOWN
 */
export function getManifest(ctx: CoreContext, repository: string, reference: string): MaybePromise<ManifestRecord> {
  const ref = lookupReference(reference);
  if (ref === undefined) throw unknownManifest(reference);
  const found = (record: ManifestRecord | undefined) => {
    if (!record) throw unknownManifest(reference);
    return record;
  };
  if (ref.kind === 'digest') return andThen(ctx.index.getManifest(repository, ref.digest), found);
  return andThen(ctx.index.resolveTag(repository, ref.tag), (digest) => andThen(digest ? ctx.index.getManifest(repository, digest) : undefined, found));
}

function unknownManifest(reference: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', undefined, { detail: { reference } });
}

/**
 * Reads a manifest for GET or HEAD: from the repository, negotiated for `accept` when asked for by tag, or, with a
 * read-through source (a mirrored repository), as that source answers (it decides freshness). Emits onPull for GETs.
 * @throws MANIFEST_UNKNOWN
 */
export function readManifest(
  ctx: CoreContext,
  repository: string,
  reference: string,
  options: { accept?: string | null; head?: boolean; through?: ReadThrough } = {},
): MaybePromise<{ record: ManifestRecord; outcome?: CacheOutcome }> {
  const served = (result: { record: ManifestRecord; outcome?: CacheOutcome }) => {
    if (!options.head) notePull(ctx, repository, reference, result.record);
    return result;
  };
  if (options.through) {
    if (!lookupReference(reference)) throw unknownManifest(reference);
    return options.through.manifest(reference).then(served);
  }
  const record = andThen(getManifest(ctx, repository, reference), (stored) =>
    // Only a tag may resolve to another representation: content asked for by digest must be that digest's bytes.
    reference.includes(':') ? stored : negotiate(ctx, repository, stored, options.accept ?? null),
  );
  return andThen(record, (r) => served({ record: r }));
}

/** Emits the pull event for a manifest served to a client. */
export function notePull(ctx: CoreContext, repository: string, reference: string, record: ManifestRecord): void {
  emit(ctx, 'onPull', { kind: 'manifest', repository, reference, digest: record.digest, mediaType: record.mediaType, size: record.size });
}

/**
 * Stores a manifest under a tag or digest, plus any extra `tags` (the `?tag=` parameters), in one transaction.
 * The bytes are hashed as received; a digest reference must match them exactly.
 */
export async function putManifest(
  ctx: CoreContext,
  repository: string,
  reference: string,
  body: Uint8Array,
  contentType: string | undefined,
  extraTags: string[] = [],
): Promise<PutManifestResult> {
  assertWritable(ctx);
  const ref = parseReference(reference);
  if (body.byteLength > ctx.settings.maxManifestSize) {
    throw new RegistryError('MANIFEST_INVALID', `manifest is larger than ${ctx.settings.maxManifestSize} bytes`, { status: 413 });
  }
  const tags = new Set(ref.kind === 'tag' ? [ref.tag] : []);
  for (const tag of extraTags) tags.add(parseTag(tag));
  const digest = digestOf(body, ref.kind === 'digest' ? digestAlgorithm(ref.digest) : 'sha256');
  if (ref.kind === 'digest' && digest !== ref.digest) {
    throw new RegistryError('DIGEST_INVALID', 'manifest digest does not match the digest in the URL', { detail: { expected: ref.digest, actual: digest } });
  }
  const parsed = parseManifest(body, contentType);
  await checkReferences(ctx, repository, parsed.sizes);
  const record: ManifestRecord = { digest, mediaType: parsed.mediaType, size: body.byteLength, body };
  if (parsed.artifactType !== undefined) record.artifactType = parsed.artifactType;
  if (parsed.subject) record.subject = parsed.subject.digest;
  if (parsed.annotations) record.annotations = parsed.annotations;
  const hooks = ctx.manifestHooks;
  if (hooks) {
    const blobs = parsed.sizes.filter((s) => s.kind === 'blob').map((s) => ({ digest: s.digest, size: s.size }));
    await ctx.locks.run(manifestLockKey(repository), async () => {
      await hooks.beforeCommit?.(repository, record, blobs);
      await ctx.index.putManifest(repository, record, [...tags], { blobs: parsed.blobs, manifests: parsed.manifests });
      hooks.afterCommit?.(repository, record, [...tags], blobs);
    });
  } else await ctx.index.putManifest(repository, record, [...tags], { blobs: parsed.blobs, manifests: parsed.manifests });
  emit(ctx, 'onPush', { kind: 'manifest', repository, reference, digest, mediaType: record.mediaType, size: record.size });
  const result: PutManifestResult = { digest, tags: [...tags] };
  if (record.subject) result.subject = record.subject;
  return result;
}

/**
 * Stores a manifest fetched from elsewhere (a mirror fill) in `repository`, with `tags` pointing at it, in one index
 * transaction. Unlike a push, the blobs it references need not be here: a mirror fetches them when clients ask.
 * `beforeCommit` runs once the manifest is parsed, before the index commits it: a mirror records the manifest as
 * mirrored first, so a crash never leaves an adopted manifest that nothing marks as lazily filled (fsck's `lazy`).
 * @returns the record and the blobs it references
 * @throws DIGEST_INVALID when the bytes are not `digest`'s
 */
export async function adoptManifest(
  ctx: CoreContext,
  repository: string,
  fetched: { digest: Digest; body: Uint8Array; mediaType: string },
  tags: string[] = [],
  beforeCommit?: (record: ManifestRecord, blobs: Digest[]) => void | Promise<void>,
): Promise<{ record: ManifestRecord; blobs: Digest[] }> {
  const { digest, body } = fetched;
  if (digestOf(body, digestAlgorithm(digest)) !== digest) throw new RegistryError('DIGEST_INVALID', 'fetched manifest does not match its digest', { status: 502 });
  const parsed = parseManifest(body, fetched.mediaType);
  const record: ManifestRecord = { digest, mediaType: parsed.mediaType, size: body.byteLength, body };
  if (parsed.artifactType !== undefined) record.artifactType = parsed.artifactType;
  if (parsed.subject) record.subject = parsed.subject.digest;
  if (parsed.annotations) record.annotations = parsed.annotations;
  await beforeCommit?.(record, parsed.blobs);
  await ctx.index.putManifest(repository, record, tags, { blobs: [], manifests: [] });
  return { record, blobs: parsed.blobs };
}

/**
 * Deletes a tag (only the tag) or a manifest by digest (with the tags pointing at it).
 * @throws NAME_UNKNOWN in a repository that holds nothing, MANIFEST_UNKNOWN for an unknown tag or digest
 */
export async function deleteManifest(ctx: CoreContext, repository: string, reference: string): Promise<void> {
  assertDeletable(ctx);
  const ref = parseReference(reference);
  if (!(await ctx.index.hasRepository(repository))) throw new RegistryError('NAME_UNKNOWN', undefined, { detail: { name: repository } });
  let record: ManifestRecord | undefined;
  let deleted: boolean;
  if (ref.kind === 'tag') {
    const digest = await ctx.index.resolveTag(repository, ref.tag);
    record = digest ? await ctx.index.getManifest(repository, digest) : undefined;
    deleted = await ctx.index.deleteTag(repository, ref.tag);
  } else {
    record = await ctx.index.getManifest(repository, ref.digest);
    deleted = await ctx.index.deleteManifest(repository, ref.digest);
  }
  if (!deleted) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { detail: { reference } });
  ctx.manifestHooks?.afterDelete?.(repository, ref.kind === 'tag' ? 'tag' : 'manifest', reference, record);
  if (record) emit(ctx, 'onDelete', { kind: ref.kind === 'tag' ? 'tag' : 'manifest', repository, reference, digest: record.digest, mediaType: record.mediaType, size: record.size });
}

/**
 * Every required blob and child manifest must be in the repository with exactly the size its descriptor claims.
 * Missing content is MANIFEST_BLOB_UNKNOWN (400, as Distribution answers). A wrong size is MANIFEST_INVALID: the
 * content is there, the manifest's claim about it is false, and uploading again would not help (image-spec
 * descriptor.md: content whose length differs from `size` must not be trusted). The index re-checks presence
 * inside its commit; sizes need no re-check, since a digest's content never changes.
 */
async function checkReferences(ctx: CoreContext, repository: string, refs: ReferencedSize[]): Promise<void> {
  const stored = await Promise.all(refs.map((ref) => storedSize(ctx, repository, ref)));
  const missing = [...new Set(refs.filter((_, i) => stored[i] === undefined).map((ref) => ref.digest))];
  if (missing.length) {
    throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references unknown blobs or manifests: ${missing.slice(0, 5).join(', ')}`, { detail: { missing: missing.slice(0, 100) } });
  }
  for (const [i, ref] of refs.entries()) {
    if (stored[i] === ref.size) continue;
    const reason = `${ref.where}: size ${ref.size} does not match the stored ${ref.kind}'s ${stored[i]} bytes`;
    throw new RegistryError('MANIFEST_INVALID', `manifest invalid: ${reason}`, { detail: { reason, digest: ref.digest, size: ref.size, stored: stored[i] } });
  }
}

async function storedSize(ctx: CoreContext, repository: string, ref: ReferencedSize): Promise<number | undefined> {
  if (ref.kind === 'manifest') return (await ctx.index.getManifest(repository, ref.digest))?.size;
  if (!(await ctx.index.hasBlob(repository, ref.digest))) return undefined;
  return (await ctx.blobs.stat(ref.digest))?.size;
}
