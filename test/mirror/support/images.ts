/**
 * Images for the mirror tests, built in memory: random layers (or real tar+gzip layers for clients that unpack),
 * an OCI config and manifest, pushed to any registry URL with the library's client.
 */
import { RegistryClient } from '../../../src/client/client.ts';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** One blob with its digest. */
export interface Blob {
  digest: string;
  bytes: Uint8Array;
}

/** An image: manifest bytes and every blob it references. */
export interface Image {
  digest: string;
  manifest: Uint8Array;
  mediaType: string;
  config: Blob;
  layers: Blob[];
  /** Config plus layers. */
  blobs: Blob[];
  /** Manifest plus blob bytes. */
  size: number;
}

/** `sha256:<hex>`. */
export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${new Bun.CryptoHasher('sha256').update(bytes).digest('hex')}`;
}

/** `n` random bytes. */
export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  return out;
}

export function blobOf(bytes: Uint8Array): Blob {
  return { digest: sha256(bytes), bytes };
}

/** A gzipped tar holding one regular file: a layer containerd can unpack. Returns the layer and its diff_id. */
export function tarGzLayer(name: string, content: string): { layer: Uint8Array; diffId: string } {
  const data = new TextEncoder().encode(content);
  const header = new Uint8Array(512);
  const put = (text: string, at: number) => header.set(new TextEncoder().encode(text), at);
  const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, '0');
  put(name, 0);
  put(octal(0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(data.byteLength, 12), 124);
  put(octal(1_700_000_000, 12), 136);
  put('        ', 148);
  put('0', 156);
  put('ustar\u000000', 257);
  let sum = 0;
  for (const b of header) sum += b;
  put(`${octal(sum, 7)}\u0000 `, 148);
  const padded = Math.ceil(data.byteLength / 512) * 512;
  const tar = new Uint8Array(512 + padded + 1024);
  tar.set(header, 0);
  tar.set(data, 512);
  return { layer: Bun.gzipSync(tar), diffId: sha256(tar) };
}

/** Builds an image from layer bytes; `diffIds` default to the layer digests (fine for clients that do not unpack). */
export function makeImage(layers: Uint8Array[], options: { label?: string; diffIds?: string[] } = {}): Image {
  const layerBlobs = layers.map(blobOf);
  const config = blobOf(
    new TextEncoder().encode(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Labels: { 'marina.test': options.label ?? crypto.randomUUID() } },
        rootfs: { type: 'layers', diff_ids: options.diffIds ?? layerBlobs.map((l) => l.digest) },
      }),
    ),
  );
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.bytes.byteLength },
      layers: layerBlobs.map((l) => ({ mediaType: OCI_LAYER, digest: l.digest, size: l.bytes.byteLength })),
    }),
  );
  const blobs = [config, ...layerBlobs];
  return {
    digest: sha256(manifest),
    manifest,
    mediaType: OCI_MANIFEST,
    config,
    layers: layerBlobs,
    blobs,
    size: manifest.byteLength + blobs.reduce((n, b) => n + b.bytes.byteLength, 0),
  };
}

/** An image with random layers of the given sizes. */
export function randomImage(sizes: number[], label?: string): Image {
  return makeImage(sizes.map(randomBytes), { label });
}

/** An OCI index over images (each entry linux/amd64 or as given). */
export function makeIndex(children: { image: Image; architecture: string }[]): { digest: string; bytes: Uint8Array } {
  const bytes = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map(({ image, architecture }) => ({
        mediaType: image.mediaType,
        digest: image.digest,
        size: image.manifest.byteLength,
        platform: { os: 'linux', architecture },
      })),
    }),
  );
  return { digest: sha256(bytes), bytes };
}

/** Pushes an image (blobs, then the manifest under `tag`) to a registry. */
export async function pushImage(registryUrl: string, repository: string, tag: string, image: Image, client = new RegistryClient({ registry: registryUrl })): Promise<void> {
  for (const blob of image.blobs) await client.pushBlob(repository, blob.bytes, blob.digest);
  await client.putManifest(repository, tag, image.manifest, image.mediaType);
}

/** Pushes raw manifest bytes under a reference. */
export async function pushManifest(registryUrl: string, repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<void> {
  await new RegistryClient({ registry: registryUrl }).putManifest(repository, reference, bytes, mediaType);
}
