/** Images pushed through the library for lifecycle tests, remembering which blobs each one references. */
import { digestOf } from '../../src/oci/digest.ts';
import type { RetentionRule } from '../../src/lifecycle/rules.ts';
import type { Registry } from '../../src/registry.ts';
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, OCI_EMPTY } from '../helpers/client.ts';

const enc = (s: string) => new TextEncoder().encode(s);

/** A pushed manifest and the blobs (digest → size) it references. */
export interface Pushed {
  digest: string;
  blobs: Map<string, number>;
  mediaType: string;
  body: string;
}

/** Pushes an image whose layers are the given strings (each a blob), tagged `tag` or by digest when undefined. */
export async function pushImage(registry: Registry, repository: string, tag: string | undefined, layers: string[], configSeed = `${repository}:${tag}:${layers.join(',')}`): Promise<Pushed> {
  const config = enc(JSON.stringify({ seed: configSeed }));
  await registry.putBlob(repository, config);
  for (const layer of layers) await registry.putBlob(repository, enc(layer));
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: digestOf(config), size: config.byteLength },
    layers: layers.map((l) => ({ mediaType: OCI_LAYER, digest: digestOf(enc(l)), size: enc(l).byteLength })),
  });
  const digest = digestOf(enc(body));
  await registry.putManifest(repository, tag ?? digest, body);
  const blobs = new Map<string, number>([[digestOf(config), config.byteLength], ...layers.map((l) => [digestOf(enc(l)), enc(l).byteLength] as [string, number])]);
  return { digest, blobs, mediaType: OCI_MANIFEST, body };
}

/** Pushes an index of `children` under `tag`. */
export async function pushIndex(registry: Registry, repository: string, tag: string, children: Pushed[]): Promise<Pushed> {
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: children.map((c, i) => ({ mediaType: c.mediaType, digest: c.digest, size: enc(c.body).byteLength, platform: { os: 'linux', architecture: `arch${i}` } })),
  });
  await registry.putManifest(repository, tag, body);
  return { digest: digestOf(enc(body)), blobs: new Map(), mediaType: OCI_INDEX, body };
}

/** Pushes a signature-like referrer of `subject` (untagged) carrying one payload blob. */
export async function pushReferrer(registry: Registry, repository: string, subject: Pushed, payload: string): Promise<Pushed> {
  const empty = enc('{}');
  await registry.putBlob(repository, empty);
  await registry.putBlob(repository, enc(payload));
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: 'application/vnd.marina.test.signature',
    config: { mediaType: OCI_EMPTY, digest: digestOf(empty), size: 2 },
    layers: [{ mediaType: 'application/octet-stream', digest: digestOf(enc(payload)), size: enc(payload).byteLength }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: enc(subject.body).byteLength },
  });
  const digest = digestOf(enc(body));
  await registry.putManifest(repository, digest, body);
  return { digest, blobs: new Map([[digestOf(empty), 2], [digestOf(enc(payload)), enc(payload).byteLength]]), mediaType: OCI_MANIFEST, body };
}

/** Pulls a manifest and everything it references through the library, checking every digest. */
export async function pullCompletely(registry: Registry, repository: string, reference: string): Promise<number> {
  const record = await registry.getManifest(repository, reference);
  let bytes = record.size;
  const json = JSON.parse(new TextDecoder().decode(record.body)) as { config?: { digest: string }; layers?: { digest: string }[]; manifests?: { digest: string }[] };
  for (const child of json.manifests ?? []) bytes += await pullCompletely(registry, repository, child.digest);
  for (const blob of [json.config, ...(json.layers ?? [])]) {
    if (!blob) continue;
    const opened = await registry.getBlob(repository, blob.digest);
    const data = new Uint8Array(await opened.body.arrayBuffer());
    if (digestOf(data) !== blob.digest) throw new Error(`blob ${blob.digest} of ${repository}:${reference} has other content`);
    bytes += data.byteLength;
  }
  return bytes;
}

export const HOUR = 60 * 60 * 1000;
export const DAY = 24 * HOUR;

/** The rules the 200-tag scenario is judged by. */
export const CI_RULES: RetentionRule[] = [
  { repositories: 'ci/**', keepNewest: 20, keepTags: ['v*', 'main', 'latest'], deleteTagsOlderThanMs: 3 * DAY, deleteUntaggedOlderThanMs: DAY },
];

/**
 * ci/app: 200 tags pushed 6 h apart from `start` (build-NNN, plus v1.0 and main early on, latest = the newest),
 * an index kept by pattern (v3-multi) and an old one (old-multi), a signature of the newest and of the oldest
 * image, an old and a young untagged manifest; other/app shares a layer with a deleted image. Returns what
 * CI_RULES keep and delete. `clock.now` is moved as pushes land.
 */
export async function buildCiScenario(registry: Registry, clock: { now: number }, start: number) {
  clock.now = start;
  const kept: Pushed[] = [];
  const gone: Pushed[] = [];
  const goneTags: string[] = [];
  const keptTags: string[] = [];
  const base = 'base layer shared by everything';

  const multiA = await pushImage(registry, 'ci/app', undefined, [base, 'multi-a']);
  const multiB = await pushImage(registry, 'ci/app', undefined, [base, 'multi-b']);
  kept.push(multiA, multiB, await pushIndex(registry, 'ci/app', 'v3-multi', [multiA, multiB]));
  keptTags.push('v3-multi');
  const oldA = await pushImage(registry, 'ci/app', undefined, [base, 'old-multi-a']);
  const oldB = await pushImage(registry, 'ci/app', undefined, [base, 'old-multi-b']);
  gone.push(oldA, oldB, await pushIndex(registry, 'ci/app', 'old-multi', [oldA, oldB]));
  goneTags.push('old-multi');
  gone.push(await pushImage(registry, 'ci/app', undefined, [base, 'untagged and old']));

  const images: Pushed[] = [];
  for (let i = 0; i < 200; i++) {
    clock.now = start + i * 6 * HOUR;
    const tag = i === 3 ? 'v1.0' : i === 4 ? 'main' : `build-${String(i).padStart(3, '0')}`;
    const image = await pushImage(registry, 'ci/app', tag, [base, `layer ${i}`]);
    images.push(image);
    const keep = i >= 180 || i === 3 || i === 4;
    (keep ? kept : gone).push(image);
    (keep ? keptTags : goneTags).push(tag);
  }
  await registry.putManifest('ci/app', 'latest', images[199]!.body);
  keptTags.push('latest');
  kept.push(await pushReferrer(registry, 'ci/app', images[199]!, 'signature of 199'));
  gone.push(await pushReferrer(registry, 'ci/app', images[0]!, 'signature of 0'));
  kept.push(await pushImage(registry, 'ci/app', undefined, [base, 'untagged and young']));
  kept.push(await pushImage(registry, 'other/app', 'v1', [base, 'layer 1']));
  return { registry, kept, gone, goneTags, keptTags, images };
}

