/**
 * Imports an OCI image layout directory (image-spec image-layout.md) into a registry: the manifests reachable from
 * `index.json`, children and blobs first, tagged by their `org.opencontainers.image.ref.name` annotation.
 *
 * Every file is checked against its descriptor before it counts: sizes by `stat`, manifests by hashing their bytes
 * (they are small and capped), blobs by streaming them through an upload session, which verifies the digest on
 * commit (DIGEST_INVALID) and never holds a whole blob in memory. The target repository is the one given, or the
 * one a `repo:tag` / `repo@digest` ref.name names (as `marina cache export` writes them).
 */
import * as fs from 'node:fs';
import { digestAlgorithm, digestOf, tryParseDigest, type Digest } from '../oci/digest.ts';
import { MANIFEST_TYPES } from '../oci/media-types.ts';
import { isTag } from '../oci/names.ts';
import type { Registry } from '../registry.ts';
import { blobFile, REF_NAME, REPOSITORY } from './export-layout.ts';
import { parseImageRef } from './image-ref.ts';
import * as path from 'node:path';

interface LayoutDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
}

/** What an import did. */
export interface ImportReport {
  blobs: number;
  /** Bytes of blobs uploaded (blobs the repository already had are not uploaded again). */
  bytes: number;
  manifests: number;
  /** Tags set, as `repository:tag`. */
  tags: string[];
}

/** Largest index.json or manifest file read into memory. */
const MAX_JSON_BYTES = 16 * 1024 * 1024;

/**
 * Imports `dir` into `repository`, or, without one, into the repositories its ref.name annotations name;
 * `onProgress` hears about each manifest pushed.
 */
export async function importLayout(registry: Registry, dir: string, repository?: string, onProgress: (message: string) => void = () => {}): Promise<ImportReport> {
  if (!fs.existsSync(path.join(dir, 'oci-layout'))) throw new Error(`${dir} is not an OCI image layout (no oci-layout file)`);
  const index = JSON.parse(new TextDecoder().decode(readCapped(path.join(dir, 'index.json')))) as { manifests?: LayoutDescriptor[] };
  const report: ImportReport = { blobs: 0, bytes: 0, manifests: 0, tags: [] };
  const done = new Set<string>();

  const pushBlob = async (repo: string, blob: LayoutDescriptor): Promise<void> => {
    const digest = checkedDigest(blob);
    if (done.has(`${repo}@${digest}`)) return;
    const file = blobFile(dir, digest);
    if (!fs.existsSync(file)) {
      // Non-distributable layers live elsewhere (their urls); the manifest push decides whether they are needed.
      if (blob.urls?.length || (await registry.storage.index.hasBlob(repo, digest))) return;
      throw new Error(`blob ${digest} is missing from the layout`);
    }
    const size = fs.statSync(file).size;
    if (size !== blob.size) throw new Error(`blob ${digest} is ${size} bytes in the layout; its descriptor says ${blob.size}`);
    if (!(await registry.storage.index.hasBlob(repo, digest))) {
      try {
        await registry.putBlob(repo, Bun.file(file).stream(), digest);
      } catch (error) {
        if ((error as { code?: string }).code === 'DIGEST_INVALID') throw new Error(`blob ${digest} in the layout does not match its digest`);
        throw error;
      }
      report.blobs++;
      report.bytes += size;
    }
    done.add(`${repo}@${digest}`);
  };

  const pushManifest = async (repo: string, descriptor: LayoutDescriptor): Promise<Uint8Array> => {
    const digest = checkedDigest(descriptor);
    const body = readCapped(blobFile(dir, digest));
    if (body.byteLength !== descriptor.size) throw new Error(`manifest ${digest} is ${body.byteLength} bytes in the layout; its descriptor says ${descriptor.size}`);
    if (digestOf(body, digestAlgorithm(digest)) !== digest) throw new Error(`manifest ${digest} in the layout does not match its digest`);
    if (done.has(`${repo}@${digest}`)) return body;
    const json = JSON.parse(new TextDecoder().decode(body)) as { config?: LayoutDescriptor; layers?: LayoutDescriptor[]; manifests?: LayoutDescriptor[] };
    for (const child of json.manifests ?? []) if (MANIFEST_TYPES.has(child.mediaType)) await pushManifest(repo, child);
    for (const blob of [json.config, ...(json.layers ?? [])]) if (blob) await pushBlob(repo, blob);
    await registry.putManifest(repo, digest, body, descriptor.mediaType);
    done.add(`${repo}@${digest}`);
    report.manifests++;
    onProgress(`imported ${repo}@${digest}`);
    return body;
  };

  for (const descriptor of index.manifests ?? []) {
    const name = descriptor.annotations?.[REF_NAME];
    const ref = name ? parseImageRef(name) : undefined;
    // With a repository given, only the tag part of ref.name counts ("host/repo:tag" or just "tag").
    const tagPart = name?.includes('@') ? undefined : name?.split(':').at(-1);
    const repo = repository ?? (name?.includes(':') || name?.includes('@') ? ref?.repository : undefined) ?? descriptor.annotations?.[REPOSITORY];
    if (!repo) throw new Error(`index.json entry ${descriptor.digest} names no repository (ref.name "${name ?? ''}"); pass a repository`);
    const tag = repository ? (tagPart && isTag(tagPart) ? tagPart : undefined) : ref?.tag;
    const body = await pushManifest(repo, descriptor);
    if (tag) {
      await registry.putManifest(repo, tag, body, descriptor.mediaType);
      report.tags.push(`${repo}:${tag}`);
    }
  }
  return report;
}

function checkedDigest(descriptor: LayoutDescriptor): Digest {
  const digest = tryParseDigest(String(descriptor.digest));
  if (!digest) throw new Error(`the layout names an invalid digest "${String(descriptor.digest).slice(0, 80)}"`);
  return digest;
}

function readCapped(file: string): Uint8Array {
  const size = fs.statSync(file).size;
  if (size > MAX_JSON_BYTES) throw new Error(`${file} is ${size} bytes; at most ${MAX_JSON_BYTES} are read`);
  return new Uint8Array(fs.readFileSync(file));
}
