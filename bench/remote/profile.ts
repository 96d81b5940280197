/**
 * What `marina bench` measures on a registry elsewhere: the pull and push scenarios of the matrix at sizes that
 * suit a network (no 1 GiB blobs, no 100,000-blob store), and, with `--repository`, the content already there.
 */
import { pushMatrix, type Profile } from '../config.ts';
import type { DataSet } from '../data/dataset.ts';
import { KiB, MiB } from '../lib/units.ts';
import type { RegistryClient } from '../../src/client/client.ts';

/** The remote variant of a profile: no cold start, no server memory, modest sizes, unpinned. */
export function remoteProfile(base: Profile): Profile {
  const quick = base.name === 'quick';
  const biggest = quick ? 4 * MiB : 64 * MiB;
  const clients = quick ? 4 : 16;
  return {
    ...base,
    placements: ['unpinned'],
    blobGet: { sizes: quick ? [KiB, biggest] : [KiB, MiB, biggest], concurrency: quick ? [1, clients] : [1, 16, 64] },
    range: { length: quick ? 256 * KiB : MiB, blobSize: biggest, concurrency: clients },
    manifest: { connections: quick ? 8 : 64 },
    push: { cases: pushMatrix([biggest], quick ? [2] : [1, 8]), chunkSize: quick ? 2 * MiB : 8 * MiB, windowSec: base.push.windowSec, maxPerClient: base.push.maxPerClient },
    image: { ...base.image, clients },
    tags: { count: quick ? 60 : 1000, pageSize: quick ? 25 : 100, connections: clients },
    referrers: { count: quick ? 10 : 100, connections: clients },
    coldStart: { bulkBlobs: 0, rounds: 0 },
    mixed: { ...base.mixed, size: biggest },
  };
}

/** A manifest's parts this needs. */
interface ManifestJson {
  manifests?: { digest: string; mediaType?: string }[];
  layers?: { digest: string; size: number }[];
  config?: { digest: string; size: number };
}

/**
 * Describes content already in `repository` as a data set (nothing is pushed): the tagged manifest, its smallest
 * and largest blobs, the repository's tags, and the referrers of the manifest (when the registry lists any).
 * Returns the data set and the profile changed to its sizes.
 */
export async function existingContent(client: RegistryClient, repository: string, tag: string, profile: Profile): Promise<{ data: DataSet; profile: Profile }> {
  const tagged = await client.getManifest(repository, tag);
  if (!tagged) throw new Error(`${repository}:${tag} not found`);
  let manifest = JSON.parse(new TextDecoder().decode(tagged.body)) as ManifestJson;
  if (manifest.manifests?.length) {
    // An index: the blobs come from its first image.
    const first = await client.getManifest(repository, manifest.manifests[0]!.digest);
    if (!first) throw new Error(`${repository}@${manifest.manifests[0]!.digest} (first image of the index) not found`);
    manifest = JSON.parse(new TextDecoder().decode(first.body)) as ManifestJson;
  }
  const blobs = [...(manifest.layers ?? []), ...(manifest.config ? [manifest.config] : [])].sort((a, b) => a.size - b.size);
  if (!blobs.length) throw new Error(`${repository}:${tag} references no blobs`);
  const picked = [...new Map([blobs[0]!, blobs.at(-1)!].map((b) => [b.size, b])).values()];
  const getBlobs = picked.map((b) => ({ repo: repository, digest: b.digest, size: b.size }));
  const tags = (await client.listTags(repository)) ?? [];
  const pageSize = Math.max(1, Math.min(100, Math.ceil(tags.length / 3)));
  let referrers: DataSet['referrers'] = { repo: repository, subject: tagged.digest, artifactType: '', expected: 0, total: 0 };
  if (await client.hasReferrersApi(repository)) {
    const all = await client.listReferrers(repository, tagged.digest);
    const type = all.find((d) => d.artifactType)?.artifactType ?? '';
    referrers = { repo: repository, subject: tagged.digest, artifactType: type, expected: all.filter((d) => d.artifactType === type).length, total: all.length };
  }
  const largest = getBlobs.at(-1)!.size;
  const data: DataSet = {
    getBlobs,
    small: [],
    manifests: [],
    app: { repo: repository, tag, digest: tagged.digest, size: tagged.body.byteLength },
    tagList: { repo: repository, count: tags.length, pageSize },
    referrers,
    bulk: { count: 0, entry: () => { throw new Error('no bulk blobs in an existing repository'); } },
    repos: { blobs: repository, app: repository, tags: repository, refs: repository, push: repository, images: repository, bulkPrefix: repository },
  };
  return {
    data,
    profile: {
      ...profile,
      blobGet: { ...profile.blobGet, sizes: getBlobs.map((b) => b.size) },
      range: { ...profile.range, blobSize: largest, length: Math.max(1, Math.min(profile.range.length, Math.floor(largest / 2))) },
      tags: { ...profile.tags, count: tags.length, pageSize },
      referrers: { ...profile.referrers, count: referrers.total },
      mixed: { ...profile.mixed, size: largest },
    },
  };
}
