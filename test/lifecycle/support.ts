/** Images pushed through the library for lifecycle tests, remembering which blobs each one references. */
import { digestOf } from '../../src/oci/digest.ts';
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
  const record = registry.getManifest(repository, reference);
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
