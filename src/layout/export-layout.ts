/**
 * Exports images from a registry as a standard OCI image layout (image-spec image-layout.md): `oci-layout`,
 * `blobs/<alg>/<hex>` for every manifest and blob, and `index.json` naming each exported image with an
 * `org.opencontainers.image.ref.name` annotation of `repo:tag` (or `repo@digest`). Blobs stream from the store
 * to a temporary file, are hashed on the way and renamed into place only when the digest matches; a blob file
 * already present with the right size is kept, so an interrupted export resumes. Referrers of exported manifests
 * (signatures, SBOMs) are exported with them, listed in index.json without a ref.name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Digest } from '../oci/digest.ts';
import { parseManifest } from '../oci/manifest.ts';
import type { Registry } from '../registry.ts';
import { formatImageRef, parseImageRef } from './image-ref.ts';

/** What an export wrote. */
export interface ExportReport {
  images: number;
  manifests: number;
  blobs: number;
  /** Bytes of blob files written (not counting those already present). */
  bytes: number;
}

/** The ref.name annotation key. */
export const REF_NAME = 'org.opencontainers.image.ref.name';
/** Annotation naming the repository of an entry without a ref.name (an exported referrer). */
export const REPOSITORY = 'dev.marina.repository';

interface IndexEntry {
  mediaType: string;
  digest: string;
  size: number;
  annotations: Record<string, string>;
}

/** Writes the images `refs` (`repo:tag` or `repo@digest`) into the layout `dir`, adding to an existing layout. */
export async function exportLayout(registry: Registry, refs: string[], dir: string, onProgress: (message: string) => void = () => {}): Promise<ExportReport> {
  fs.mkdirSync(path.join(dir, 'blobs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const indexFile = path.join(dir, 'index.json');
  const entries: IndexEntry[] = fs.existsSync(indexFile) ? ((JSON.parse(fs.readFileSync(indexFile, 'utf8')) as { manifests?: IndexEntry[] }).manifests ?? []) : [];
  const report: ExportReport = { images: 0, manifests: 0, blobs: 0, bytes: 0 };
  const written = new Set<string>();
  // Referrers go after the images, so an import pushes each after its subject.
  const referrerEntries: IndexEntry[] = [];

  const writeManifest = async (repository: string, digest: Digest): Promise<{ mediaType: string; size: number }> => {
    const record = await registry.getManifest(repository, digest);
    if (!written.has(digest)) {
      written.add(digest);
      const parsed = parseManifest(record.body, record.mediaType);
      for (const child of parsed.manifests) await writeManifest(repository, child);
      for (const blob of parsed.blobs) await writeBlob(repository, blob);
      writeFileAtomic(blobFile(dir, digest), record.body);
      report.manifests++;
      for (const referrer of await safeReferrers(registry, repository, digest)) {
        const { mediaType, size } = await writeManifest(repository, referrer);
        // Listed without a ref.name (tools selecting by name skip it), so an import finds and restores it.
        if (!referrerEntries.some((e) => e.digest === referrer)) referrerEntries.push({ mediaType, digest: referrer, size, annotations: { [REPOSITORY]: repository } });
      }
    }
    return { mediaType: record.mediaType, size: record.size };
  };

  const writeBlob = async (repository: string, digest: Digest): Promise<void> => {
    if (written.has(digest)) return;
    written.add(digest);
    const blob = await registry.getBlob(repository, digest);
    const file = blobFile(dir, digest);
    if (fs.existsSync(file) && fs.statSync(file).size === blob.size) return;
    await copyVerified(blob.body, file, digest);
    report.blobs++;
    report.bytes += blob.size;
    onProgress(`blob ${digest} (${blob.size} bytes)`);
  };

  for (const text of refs) {
    const ref = parseImageRef(text);
    if (!ref) throw new Error(`"${text}" is not an image reference (repo:tag or repo@digest)`);
    const digest = ref.digest ?? (await registry.getManifest(ref.repository, ref.tag)).digest;
    const { mediaType, size } = await writeManifest(ref.repository, digest);
    const name = formatImageRef(ref);
    const entry: IndexEntry = { mediaType, digest, size, annotations: { [REF_NAME]: name } };
    const at = entries.findIndex((e) => e.annotations?.[REF_NAME] === name);
    if (at >= 0) entries[at] = entry;
    else entries.push(entry);
    report.images++;
    onProgress(`exported ${name} (${digest})`);
  }
  writeFileAtomic(indexFile, new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [...entries, ...referrerEntries.filter((r) => !entries.some((e) => e.digest === r.digest && !e.annotations?.[REF_NAME]))] }, null, 2)));
  return report;
}

async function safeReferrers(registry: Registry, repository: string, digest: Digest): Promise<Digest[]> {
  try {
    return (await registry.listReferrers(repository, digest)).manifests.map((m) => m.digest);
  } catch {
    return []; // the referrers API is off
  }
}

/** `blobs/<alg>/<hex>` inside the layout. */
export function blobFile(dir: string, digest: string): string {
  const [alg, hex] = digest.split(':') as [string, string];
  return path.join(dir, 'blobs', alg, hex);
}

function writeFileAtomic(file: string, bytes: Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
}

/** Streams `body` into `file` via a temporary file, hashing on the way; renames only when the digest matches. */
async function copyVerified(body: Blob, file: string, digest: Digest): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const [alg] = digest.split(':') as [Bun.SupportedCryptoAlgorithms];
  const hasher = new Bun.CryptoHasher(alg);
  const out = fs.openSync(tmp, 'w');
  try {
    for await (const chunk of body.stream()) {
      hasher.update(chunk);
      for (let off = 0; off < chunk.byteLength; ) off += fs.writeSync(out, chunk, off);
    }
    fs.fsyncSync(out);
  } finally {
    fs.closeSync(out);
  }
  const actual = `${alg}:${hasher.digest('hex')}`;
  if (actual !== digest) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`stored blob ${digest} reads as ${actual}; run marina fsck`);
  }
  fs.renameSync(tmp, file);
}
