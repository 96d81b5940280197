/**
 * Consistency check of a registry's stores (`marina fsck`): the metadata index against the blob store and the
 * upload ledger. Errors are states a client can observe as wrong (a link or manifest whose content is missing,
 * bytes that do not hash to their name); garbage is harmless but reclaimable (orphan blobs, partial uploads).
 * Repair never deletes a manifest or a tag a client pushed: what only a re-push can fix is reported, not "fixed".
 */
import { digestAlgorithm, digestOf, type Digest } from '../oci/digest.ts';
import { parseManifest } from '../oci/manifest.ts';
import { hashBlob } from '../storage/hashing.ts';
import { allRepositories, allTags } from '../storage/index-pages.ts';
import type { BlobStore, MetadataIndex, UploadLedger } from '../storage/types.ts';

/** What a finding is about. */
export type FindingKind =
  | 'corrupt-blob' // a blob file whose bytes do not hash to its name
  | 'dangling-link' // a repository links a blob whose file is missing (or was corrupt)
  | 'unlinked-blob' // a manifest references a blob that is stored but not linked in its repository
  | 'manifest-blob-missing' // a manifest references a blob that is not stored
  | 'manifest-child-missing' // an index references a manifest its repository does not hold
  | 'manifest-corrupt' // a stored manifest whose bytes do not hash to its digest, or no longer parse
  | 'tag-dangling' // a tag names a manifest that is not stored
  | 'orphan-blob' // garbage: a blob file no repository links
  | 'partial-file' // garbage: a file in uploads/ that no open session claims
  | 'stale-session'; // garbage: an upload session whose file is gone, or idle past the purge timeout

/** One thing found wrong, and what repair did about it. */
export interface Finding {
  kind: FindingKind;
  severity: 'error' | 'garbage';
  repository?: string;
  digest?: string;
  message: string;
  /** True when `repair` can fix it (else only a client re-push can). */
  repairable: boolean;
  /** What `repair` did; absent when nothing was done (not repairing, or not repairable). */
  repaired?: string;
}

/** Counts and findings of one check. */
export interface FsckReport {
  repositories: number;
  manifests: number;
  tags: number;
  links: number;
  blobs: number;
  hashedBytes: number;
  uploads: number;
  findings: Finding[];
  /** Errors still present after this run (repaired ones excluded). */
  remainingErrors: number;
}

/** The stores checked; the blob store's optional extras (filesystem only) widen what is checked and repaired. */
export interface FsckStores {
  blobs: BlobStore & Partial<PartialFileAccess>;
  index: MetadataIndex;
  ledger: UploadLedger;
}

/** Access to the partial files of uploads and to a quarantine for corrupt blobs (FsBlobStore has these). */
export interface PartialFileAccess {
  partials(): AsyncIterable<{ name: string; size: number; modifiedAt: number; session: boolean }>;
  hasPartial(name: string): boolean;
  removePartial(name: string): Promise<boolean>;
  /** Moves a corrupt blob out of reach (kept for inspection); returns where it went. */
  quarantine(digest: Digest): Promise<string | undefined>;
}

/** Progress of a long check, for a progress line. */
export interface FsckProgress {
  phase: 'listing blobs' | 'hashing blobs' | 'checking repositories' | 'checking uploads';
  done: number;
  total?: number;
  bytes?: number;
}

/** Options of {@link checkStores}. */
export interface FsckOptions {
  /** Fix what can be fixed without losing pushed content. @default false */
  repair?: boolean;
  /** Hash every blob file (the slow part). @default true */
  verifyBlobs?: boolean;
  /** Garbage younger than this is reported but never removed (a live server may be mid-commit). @default 1 h */
  graceMs?: number;
  /** Upload sessions idle longer than this are stale. @default 24 h */
  sessionIdleMs?: number;
  /**
   * True for a manifest a mirror stored (see adoptManifest): its blobs and children are fetched when clients ask,
   * so their absence (or a blob stored but not yet confirmed for this repository) is no error.
   */
  lazy?(repository: string, digest: Digest): boolean | Promise<boolean>;
  onProgress?(progress: FsckProgress): void;
  /** Hears each finding as it is made (and repaired). */
  onFinding?(finding: Finding): void;
}

/** Checks (and with `repair`, fixes) the stores. */
export async function checkStores(stores: FsckStores, options: FsckOptions = {}): Promise<FsckReport> {
  const { blobs, index, ledger } = stores;
  const repair = options.repair ?? false;
  const now = Date.now();
  const cutoff = now - (options.graceMs ?? 60 * 60 * 1000);
  const progress = options.onProgress ?? (() => {});
  const report: FsckReport = { repositories: 0, manifests: 0, tags: 0, links: 0, blobs: 0, hashedBytes: 0, uploads: 0, findings: [], remainingErrors: 0 };
  const found = async (fields: Omit<Finding, 'repairable'>, fix?: () => Promise<string | undefined>) => {
    const finding: Finding = { ...fields, repairable: fix !== undefined };
    if (repair && fix) {
      const done = await fix();
      if (done) finding.repaired = done;
    }
    if (finding.severity === 'error' && !finding.repaired) report.remainingErrors++;
    report.findings.push(finding);
    options.onFinding?.(finding);
  };

  // 1. Blob files: which are stored, and (unless skipped) whether their bytes match their names.
  const stored = new Set<Digest>();
  const corrupt = new Set<Digest>();
  const hashing = options.verifyBlobs ?? true;
  const verify = async (digest: Digest): Promise<boolean> => {
    const file = await blobs.open(digest);
    if (!file) return false;
    if (hashing) report.hashedBytes += file.size;
    const actual = hashing ? await hashBlob(file, digestAlgorithm(digest)) : digest;
    if (actual === digest) {
      stored.add(digest);
      return true;
    }
    corrupt.add(digest);
    await found({ kind: 'corrupt-blob', severity: 'error', digest, message: `blob file's bytes hash to ${actual}` }, async () => {
      const moved = blobs.quarantine ? await blobs.quarantine(digest) : (await blobs.delete(digest)) ? 'deleted' : undefined;
      return moved && (moved === 'deleted' ? 'corrupt file deleted' : `corrupt file moved to ${moved}`);
    });
    return false;
  };
  // A blob committed by a live server after the listing is checked when first met, not reported missing.
  const isStored = async (digest: Digest) => stored.has(digest) || (!corrupt.has(digest) && (await verify(digest)));
  const listed: Digest[] = [];
  for await (const digest of blobs.list()) {
    listed.push(digest);
    if (listed.length % 1000 === 0) progress({ phase: 'listing blobs', done: listed.length });
  }
  for (const [done, digest] of listed.entries()) {
    progress({ phase: 'hashing blobs', done, total: listed.length, bytes: report.hashedBytes });
    await verify(digest);
  }

  // 2. Repositories: links, manifests and tags against what is stored.
  const linkedAnywhere = new Set<Digest>();
  for await (const repository of allRepositories(index)) {
    report.repositories++;
    progress({ phase: 'checking repositories', done: report.repositories });
    const linked = new Set<Digest>();
    for (const { digest } of await index.listBlobLinks(repository)) {
      report.links++;
      if (await isStored(digest)) {
        linked.add(digest);
        linkedAnywhere.add(digest);
        continue;
      }
      // Fresh reads before reporting: a live server may have deleted the link (and the file) since the listing.
      if (!(await index.hasBlob(repository, digest))) continue;
      await found({ kind: 'dangling-link', severity: 'error', repository, digest, message: 'the repository links a blob whose file is missing or corrupt' }, async () => {
        // Re-check: a server may have committed the blob since the scan. Removing the link makes the registry
        // answer BLOB_UNKNOWN, so clients upload the blob again instead of trusting a link to nothing.
        if (await blobs.stat(digest)) return undefined;
        return (await index.unlinkBlob(repository, digest)) ? 'link removed (clients will upload the blob again)' : undefined;
      });
    }
    const manifests = new Set(await index.listManifestDigests(repository));
    for (const digest of manifests) {
      report.manifests++;
      const record = await index.getManifest(repository, digest);
      if (!record) continue;
      let parsed;
      try {
        if (digestOf(record.body, digestAlgorithm(digest)) !== digest) throw new Error('stored bytes do not hash to the manifest digest');
        parsed = parseManifest(record.body, record.mediaType);
      } catch (e) {
        await found({ kind: 'manifest-corrupt', severity: 'error', repository, digest, message: `${(e as Error).message}; re-push it` });
        continue;
      }
      if (await options.lazy?.(repository, digest)) continue;
      for (const blob of parsed.blobs) {
        if (linked.has(blob)) continue;
        if ((await index.hasBlob(repository, blob)) && (await isStored(blob))) {
          linked.add(blob);
          linkedAnywhere.add(blob);
          continue;
        }
        if (!(await index.getManifest(repository, digest))) break;
        if (await isStored(blob)) {
          await found({ kind: 'unlinked-blob', severity: 'error', repository, digest, message: `references ${blob}, stored but not linked in the repository` }, async () => {
            await index.linkBlob(repository, blob);
            linked.add(blob);
            linkedAnywhere.add(blob);
            return `linked ${blob}`;
          });
        } else {
          await found({ kind: 'manifest-blob-missing', severity: 'error', repository, digest, message: `references blob ${blob}, which is not stored: re-push the image (not repairable here)` });
        }
      }
      for (const child of parsed.manifests) {
        if (manifests.has(child) || (await index.getManifest(repository, child)) || !(await index.getManifest(repository, digest))) continue;
        await found({ kind: 'manifest-child-missing', severity: 'error', repository, digest, message: `references manifest ${child}, which the repository does not hold: re-push it (not repairable here)` });
      }
    }
    for await (const tag of allTags(index, repository)) {
      report.tags++;
      const digest = await index.resolveTag(repository, tag);
      if (digest && (manifests.has(digest) || (await index.getManifest(repository, digest)))) continue;
      await found({ kind: 'tag-dangling', severity: 'error', repository, message: `tag ${tag} names ${digest ?? 'nothing'}, which is not stored: re-push it (not repairable here)` });
    }
  }

  report.blobs = stored.size + corrupt.size;

  // 3. Garbage: blob files nothing links.
  for (const digest of stored) {
    if (linkedAnywhere.has(digest) || (await index.isBlobLinkedAnywhere(digest))) continue;
    const file = await blobs.open(digest);
    const modifiedAt = file && 'lastModified' in file ? (file as File).lastModified : now;
    await found({ kind: 'orphan-blob', severity: 'garbage', digest, message: `${file?.size ?? 0} bytes that no repository links` }, async () => {
      if (modifiedAt > cutoff || (await index.isBlobLinkedAnywhere(digest))) return undefined;
      return (await blobs.delete(digest)) ? 'deleted' : undefined;
    });
  }

  // 4. Uploads: sessions against their partial files.
  progress({ phase: 'checking uploads', done: 0 });
  const sessions = new Map((await ledger.idleSince(Number.MAX_SAFE_INTEGER)).map((e) => [e.id, e]));
  for (const entry of sessions.values()) {
    report.uploads++;
    const missing = blobs.hasPartial ? !blobs.hasPartial(entry.id) : false;
    const idle = entry.touchedAt < now - (options.sessionIdleMs ?? 24 * 60 * 60 * 1000);
    if (!missing && !idle) continue;
    const message = missing ? 'upload session whose partial file is gone' : `upload session idle since ${new Date(entry.touchedAt).toISOString()}`;
    await found({ kind: 'stale-session', severity: 'garbage', repository: entry.repository, digest: entry.id, message }, async () => {
      if (!missing && entry.touchedAt > cutoff) return undefined;
      if (!missing) await blobs.removePartial?.(entry.id);
      await ledger.remove(entry.id);
      return 'session removed';
    });
  }
  for await (const file of blobs.partials?.() ?? []) {
    if (file.session && sessions.has(file.name)) continue;
    await found({ kind: 'partial-file', severity: 'garbage', digest: file.name, message: `${file.size} bytes in uploads/ that no open session claims` }, async () => {
      if (file.modifiedAt > cutoff) return undefined;
      return (await blobs.removePartial!(file.name)) ? 'deleted' : undefined;
    });
  }
  return report;
}

