/**
 * Imports an OCI image layout directory (image-spec image-layout.md) into a registry: every blob under
 * `blobs/<alg>/<hex>`, then the manifests reachable from `index.json`, children first, tagged by their
 * `org.opencontainers.image.ref.name` annotation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tryParseDigest, type Digest } from '../oci/digest.ts';
import { MANIFEST_TYPES } from '../oci/media-types.ts';
import { isTag } from '../oci/names.ts';
import type { Registry } from '../registry.ts';

interface LayoutDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** What an import did. */
export interface ImportReport {
  blobs: number;
  manifests: number;
  tags: string[];
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/** Imports `dir` into `repository`; `onProgress` hears about each manifest pushed. */
export async function importLayout(registry: Registry, dir: string, repository: string, onProgress?: (message: string) => void): Promise<ImportReport> {
  const layoutFile = path.join(dir, 'oci-layout');
  if (!fs.existsSync(layoutFile)) throw new Error(`${dir} is not an OCI image layout (no oci-layout file)`);
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests?: LayoutDescriptor[] };
  const blobPath = (digest: Digest) => path.join(dir, 'blobs', ...digest.split(':'));
  const report: ImportReport = { blobs: 0, manifests: 0, tags: [] };

  const done = new Set<string>();
  const pushManifest = async (descriptor: LayoutDescriptor, tag?: string): Promise<void> => {
    const digest = tryParseDigest(descriptor.digest);
    if (!digest) throw new Error(`index.json names an invalid digest ${descriptor.digest}`);
    const body = new Uint8Array(fs.readFileSync(blobPath(digest)));
    if (!done.has(digest)) {
      const json = JSON.parse(new TextDecoder().decode(body)) as { config?: LayoutDescriptor; layers?: LayoutDescriptor[]; manifests?: LayoutDescriptor[] };
      for (const child of json.manifests ?? []) if (MANIFEST_TYPES.has(child.mediaType)) await pushManifest(child);
      for (const blob of [json.config, ...(json.layers ?? [])]) {
        const blobDigest = blob && tryParseDigest(blob.digest);
        if (!blobDigest || done.has(blobDigest) || !fs.existsSync(blobPath(blobDigest))) continue;
        await registry.putBlob(repository, Bun.file(blobPath(blobDigest)).stream(), blobDigest);
        done.add(blobDigest);
        report.blobs++;
      }
      await registry.putManifest(repository, digest, body, descriptor.mediaType);
      done.add(digest);
      report.manifests++;
      onProgress?.(`imported manifest ${digest}`);
    }
    if (tag) {
      await registry.putManifest(repository, tag, body, descriptor.mediaType);
      report.tags.push(tag);
    }
  };
  for (const descriptor of index.manifests ?? []) {
    // ref.name may be a whole reference ("host/repo:tag"); only its tag part names a tag here.
    const ref = descriptor.annotations?.[REF_NAME]?.split(':').at(-1);
    await pushManifest(descriptor, ref && isTag(ref) ? ref : undefined);
  }
  return report;
}
