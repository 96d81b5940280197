/**
 * The data set every target is seeded with: the blobs pulled, the manifest pulled, a repository with many tags,
 * a subject with many referrers, and a bulk of small blobs for the cold-start store. Built once per run; every
 * target stores the same bytes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Profile } from '../config.ts';
import { sizeId } from '../lib/units.ts';
import { Content } from './content.ts';
import { imageManifest, MEDIA, sha256, type Descriptor, type ManifestDoc } from './manifests.ts';

/** A blob and the repository it is linked into; big ones live in `file`, small ones in `bytes`. */
export interface BlobEntry {
  repo: string;
  digest: string;
  size: number;
  file?: string;
  bytes?: Uint8Array;
}

/** Repository names used by the scenarios (under the default prefix `bench`). */
export const REPOS = {
  blobs: 'bench/blobs',
  app: 'bench/app',
  tags: 'bench/tags',
  refs: 'bench/refs',
  push: 'bench/push',
  images: 'bench/images',
  bulkPrefix: 'bench/bulk-',
} as const;

/** Repository names, by role. */
export type RepoNames = Record<keyof typeof REPOS, string>;

/** The repository names under another prefix (`marina bench --prefix`, e.g. a namespace the user may push to). */
export function reposFor(prefix: string): RepoNames {
  return Object.fromEntries(Object.entries(REPOS).map(([k, v]) => [k, v.replace(/^bench\//, `${prefix}/`)])) as RepoNames;
}

const BULK_REPOS = 10;
const BULK_SIZE = 256;

/** What the scenarios and seeders need to know about the data set. */
export interface DataSet {
  /** Pulled blobs (one per size), on disk in `file`. */
  getBlobs: BlobEntry[];
  /** Small blobs the manifests reference, in memory. */
  small: BlobEntry[];
  /** Every manifest, in an order safe to push (subjects before referrers). */
  manifests: ManifestDoc[];
  /** The manifest of the manifest GET/HEAD scenario. */
  app: { repo: string; tag: string; digest: string; size: number };
  tagList: { repo: string; count: number; pageSize: number };
  referrers: { repo: string; subject: string; artifactType: string; expected: number; total: number };
  bulk: { count: number; entry(i: number): BlobEntry };
  /** Repository names in use. */
  repos: RepoNames;
}

/** The pulled blob of a size. */
export function getBlob(data: DataSet, size: number): BlobEntry {
  const blob = data.getBlobs.find((b) => b.size === size);
  if (!blob) throw new Error(`no ${size}-byte blob in the data set`);
  return blob;
}

/** The content a pushing client sends: distinct per client index, identical across targets and rounds. */
export function pushContent(size: number, client: number): Content {
  return new Content(`push/${client}`, size);
}

/** Builds the data set for a profile; big blobs are written under `dir`. */
export function buildDataSet(profile: Profile, dir: string, repos: RepoNames = REPOS): DataSet {
  fs.mkdirSync(dir, { recursive: true });
  const sizes = [...new Set([...profile.blobGet.sizes, profile.range.blobSize, profile.mixed.size])].sort((a, b) => a - b);
  const getBlobs = sizes.map((size): BlobEntry => {
    const content = new Content(`get/${size}`, size);
    const file = path.join(dir, `get-${sizeId(size)}.bin`);
    content.writeFile(file);
    return { repo: repos.blobs, digest: content.digest(), size, file };
  });

  const small: BlobEntry[] = [];
  const smallBlob = (repo: string, seed: string, size: number, mediaType: string): Descriptor => {
    const bytes = new Content(seed, size).bytes();
    const entry = { repo, digest: sha256(bytes), size, bytes };
    small.push(entry);
    return { mediaType, digest: entry.digest, size };
  };
  const emptyBlob = (repo: string): Descriptor => {
    const bytes = new TextEncoder().encode('{}');
    small.push({ repo, digest: sha256(bytes), size: 2, bytes });
    return { mediaType: MEDIA.empty, digest: sha256(bytes), size: 2 };
  };
  const manifests: ManifestDoc[] = [];

  // The pulled manifest: a config and five layers, about 1 KiB like a typical single-platform image.
  const appConfig = smallBlob(repos.app, 'app/config', 1024, MEDIA.config);
  const appLayers = Array.from({ length: 5 }, (_, i) => smallBlob(repos.app, `app/layer/${i}`, 4096, MEDIA.layer));
  const app = imageManifest(repos.app, appConfig, appLayers, { tags: ['v1'] });
  manifests.push(app);

  // Many tags: one manifest per tag, distinct through an annotation, all sharing one config and layer.
  const tagsConfig = smallBlob(repos.tags, 'tags/config', 512, MEDIA.config);
  const tagsLayer = smallBlob(repos.tags, 'tags/layer', 1024, MEDIA.layer);
  const width = String(profile.tags.count - 1).length;
  for (let i = 0; i < profile.tags.count; i++) {
    const tag = `t${String(i).padStart(width, '0')}`;
    manifests.push(imageManifest(repos.tags, tagsConfig, [tagsLayer], { tags: [tag], annotations: { 'org.opencontainers.image.revision': String(i) } }));
  }

  // Many referrers of one subject, alternating two artifact types; the scenario filters on one of them.
  const subject = imageManifest(repos.refs, smallBlob(repos.refs, 'refs/config', 512, MEDIA.config), [smallBlob(repos.refs, 'refs/layer', 1024, MEDIA.layer)], {
    tags: ['subject'],
  });
  manifests.push(subject);
  const empty = emptyBlob(repos.refs);
  const types = ['application/vnd.bench.signature', 'application/vnd.bench.sbom'] as const;
  for (let i = 0; i < profile.referrers.count; i++) {
    manifests.push(
      imageManifest(repos.refs, empty, [empty], {
        artifactType: types[i % 2]!,
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
        annotations: { 'org.example.index': String(i) },
      }),
    );
  }

  return {
    getBlobs,
    small,
    manifests,
    app: { repo: app.repo, tag: 'v1', digest: app.digest, size: app.bytes.length },
    tagList: { repo: repos.tags, count: profile.tags.count, pageSize: profile.tags.pageSize },
    referrers: { repo: repos.refs, subject: subject.digest, artifactType: types[0], expected: Math.ceil(profile.referrers.count / 2), total: profile.referrers.count },
    repos,
    bulk: {
      count: profile.coldStart.bulkBlobs,
      entry(i) {
        const bytes = new Content(`bulk/${i}`, BULK_SIZE).bytes();
        return { repo: `${repos.bulkPrefix}${i % BULK_REPOS}`, digest: sha256(bytes), size: BULK_SIZE, bytes };
      },
    },
  };
}
