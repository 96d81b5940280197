/**
 * Writes a data set straight into CNCF Distribution's filesystem storage layout (the same for 2.8 and v3):
 *
 *   docker/registry/v2/blobs/sha256/<aa>/<hex>/data                               blob bytes
 *   docker/registry/v2/repositories/<repo>/_layers/sha256/<hex>/link              blob linked into a repository
 *   docker/registry/v2/repositories/<repo>/_manifests/revisions/sha256/<hex>/link manifest in a repository
 *   docker/registry/v2/repositories/<repo>/_manifests/tags/<tag>/current/link     tag → digest
 *   docker/registry/v2/repositories/<repo>/_manifests/tags/<tag>/index/sha256/<hex>/link
 *
 * Pushing 10,000 manifests and 100,000 blobs over HTTP would take minutes; writing the layout takes seconds and
 * leaves the store exactly as pushes would have (link files hold the digest as text).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BlobEntry, DataSet } from '../data/dataset.ts';
import type { ManifestDoc } from '../data/manifests.ts';

/** A Distribution storage root being written. */
export class DistributionLayout {
  private readonly v2: string;
  private readonly made = new Set<string>();

  constructor(root: string) {
    this.v2 = path.join(root, 'docker', 'registry', 'v2');
  }

  /** Directory of a blob (holds `data`). */
  blobDir(digest: string): string {
    const hex = hexOf(digest);
    return path.join(this.v2, 'blobs', 'sha256', hex.slice(0, 2), hex);
  }

  /** Stores a blob: hard-links `file` or writes `bytes`. */
  putBlob(blob: { digest: string; file?: string; bytes?: Uint8Array }): void {
    const dir = this.blobDir(blob.digest);
    this.mkdir(dir);
    const data = path.join(dir, 'data');
    if (blob.file) {
      fs.rmSync(data, { force: true });
      fs.linkSync(blob.file, data);
    } else {
      fs.writeFileSync(data, blob.bytes!);
    }
  }

  /** Makes a stored blob visible in a repository. */
  linkLayer(repo: string, digest: string): void {
    this.writeLink(path.join(this.repoDir(repo), '_layers', 'sha256', hexOf(digest)), digest);
  }

  /** Stores a manifest's bytes, its revision link and its tags. */
  putManifest(doc: ManifestDoc): void {
    this.putBlob({ digest: doc.digest, bytes: doc.bytes });
    const manifests = path.join(this.repoDir(doc.repo), '_manifests');
    this.writeLink(path.join(manifests, 'revisions', 'sha256', hexOf(doc.digest)), doc.digest);
    for (const tag of doc.tags) {
      this.writeLink(path.join(manifests, 'tags', tag, 'current'), doc.digest);
      this.writeLink(path.join(manifests, 'tags', tag, 'index', 'sha256', hexOf(doc.digest)), doc.digest);
    }
  }

  /** Writes the whole data set. */
  seed(data: DataSet): void {
    const blob = (b: BlobEntry) => {
      this.putBlob(b);
      this.linkLayer(b.repo, b.digest);
    };
    data.getBlobs.forEach(blob);
    data.small.forEach(blob);
    for (let i = 0; i < data.bulk.count; i++) blob(data.bulk.entry(i));
    data.manifests.forEach((m) => this.putManifest(m));
  }

  private repoDir(repo: string): string {
    return path.join(this.v2, 'repositories', ...repo.split('/'));
  }

  private writeLink(dir: string, digest: string): void {
    this.mkdir(dir);
    fs.writeFileSync(path.join(dir, 'link'), digest);
  }

  private mkdir(dir: string): void {
    if (this.made.has(dir)) return;
    const parent = path.dirname(dir);
    if (!this.made.has(parent)) fs.mkdirSync(parent, { recursive: true });
    this.made.add(parent);
    try {
      fs.mkdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    this.made.add(dir);
  }
}

function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}
