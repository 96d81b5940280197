/** The benchmark image: a config and one deterministic layer, pushed with the library client. */
import { RegistryClient } from '../../src/client/index.ts';

/** Repository and tag pushed upstream. */
export const REPOSITORY = 'lib/app';
/** The tag pushed upstream. */
export const TAG = 'v1';
/** The OCI image manifest media type. */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** An image ready to push: its layer digest and size. */
export interface BenchImage {
  layer: Uint8Array;
  layerDigest: string;
  config: Uint8Array;
  configDigest: string;
  manifest: Uint8Array;
}

/** `sha256:<hex>` of some bytes. */
export function sha256(bytes: Uint8Array): string {
  return `sha256:${new Bun.CryptoHasher('sha256').update(bytes).digest('hex')}`;
}

/** Builds an image whose single layer is `size` bytes of xorshift32 output (same bytes every run). */
export function buildImage(size: number): BenchImage {
  const layer = new Uint8Array(size);
  const words = new Uint32Array(layer.buffer, 0, size >>> 2);
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  const layerDigest = sha256(layer);
  const enc = new TextEncoder();
  const config = enc.encode(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
  const configDigest = sha256(config);
  const manifest = enc.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.byteLength },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size }],
    }),
  );
  return { layer, layerDigest, config, configDigest, manifest };
}

/** Pushes the image to `registry` as `lib/app:v1`. */
export async function pushImage(registry: string, image: BenchImage): Promise<void> {
  const client = new RegistryClient({ registry });
  await client.pushBlob(REPOSITORY, image.config, image.configDigest);
  await client.pushBlob(REPOSITORY, image.layer, image.layerDigest);
  await client.putManifest(REPOSITORY, TAG, image.manifest, OCI_MANIFEST);
}
