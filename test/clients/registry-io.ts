/**
 * Reading a registry back over plain HTTP, and seeding one without a client: what the client tests compare the
 * clients' work against. Re-exported by harness.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Marina } from './harness.ts';

/** Every manifest media type, for Accept headers. */
export const ACCEPT_ALL_MANIFESTS = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** `sha256:<hex>` of bytes or a string. */
export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${new Bun.CryptoHasher('sha256').update(bytes).digest('hex')}`;
}

/** A manifest as the registry serves it. */
export interface ServedManifest {
  bytes: Uint8Array;
  json: any;
  contentType: string;
  /** Docker-Content-Digest header. */
  digest: string;
}

/** GETs a manifest, accepting every manifest type; checks the served digest matches the bytes. */
export async function getManifest(marina: Marina, repository: string, reference: string): Promise<ServedManifest> {
  const res = await marina.fetch(`/v2/${repository}/manifests/${reference}`, { headers: { Accept: ACCEPT_ALL_MANIFESTS } });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`GET manifest ${repository}:${reference} answered ${res.status}: ${new TextDecoder().decode(bytes)}`);
  const digest = res.headers.get('docker-content-digest') ?? '';
  if (digest !== sha256(bytes)) throw new Error(`manifest ${repository}:${reference}: Docker-Content-Digest ${digest} but bytes hash to ${sha256(bytes)}`);
  return { bytes, json: JSON.parse(new TextDecoder().decode(bytes)), contentType: res.headers.get('content-type') ?? '', digest };
}

/** GETs a blob's bytes; checks they hash to the digest asked for. */
export async function getBlob(marina: Marina, repository: string, digest: string): Promise<Uint8Array> {
  const res = await marina.fetch(`/v2/${repository}/blobs/${digest}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`GET blob ${repository}@${digest} answered ${res.status}`);
  if (sha256(bytes) !== digest) throw new Error(`blob ${repository}@${digest} hashes to ${sha256(bytes)}`);
  return bytes;
}

/** HEAD of a blob or manifest: its status. */
export async function headStatus(marina: Marina, pathname: string): Promise<number> {
  const res = await marina.fetch(pathname, { method: 'HEAD', headers: { Accept: ACCEPT_ALL_MANIFESTS } });
  return res.status;
}

/** True when two byte arrays are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Reads an OCI layout's index.json. */
export function readLayoutIndex(dir: string): { manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[] } {
  return JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
}

/** Reads a blob from an OCI layout. */
export function readLayoutBlob(dir: string, digest: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(path.join(dir, 'blobs', ...digest.split(':'))));
}

/** Every manifest and blob of a layout's manifest tree (child manifests, configs, layers), with the layout's bytes. */
export function layoutTree(dir: string, digest: string, out = new Map<string, Uint8Array>()): Map<string, Uint8Array> {
  const bytes = readLayoutBlob(dir, digest);
  out.set(digest, bytes);
  const m = JSON.parse(new TextDecoder().decode(bytes)) as { manifests?: { digest: string }[]; config?: { digest: string }; layers?: { digest: string }[] };
  for (const child of m.manifests ?? []) layoutTree(dir, child.digest, out);
  for (const blob of [...(m.config ? [m.config] : []), ...(m.layers ?? [])]) out.set(blob.digest, readLayoutBlob(dir, blob.digest));
  return out;
}

/** What the registry serves for a digest: the manifest when it is one, else the blob (both digest-checked). */
export async function servedBytes(marina: Marina, repository: string, digest: string): Promise<Uint8Array> {
  const isManifest = (await headStatus(marina, `/v2/${repository}/manifests/${digest}`)) === 200;
  return isManifest ? (await getManifest(marina, repository, digest)).bytes : getBlob(marina, repository, digest);
}

// ---------------------------------------------------------------------------------------------------------------
// Seeding without a client
// ---------------------------------------------------------------------------------------------------------------

/**
 * Pushes one manifest of an OCI layout (and everything under it: child manifests, config, layers) straight over
 * HTTP: monolithic blob POSTs and manifest PUTs with the manifest's own media type. Used to seed a registry for a
 * client under test without depending on another client. Returns the digest of the top manifest.
 */
export async function pushLayout(marina: Marina, layoutDir: string, repository: string, tag: string, digest?: string): Promise<string> {
  const top = digest ? { digest } : readLayoutIndex(layoutDir).manifests[0]!;
  await pushManifestTree(marina, layoutDir, repository, top.digest, tag);
  return top.digest;
}

async function pushManifestTree(marina: Marina, layoutDir: string, repository: string, digest: string, reference: string): Promise<void> {
  const bytes = readLayoutBlob(layoutDir, digest);
  const body = JSON.parse(new TextDecoder().decode(bytes)) as { mediaType: string; manifests?: { digest: string }[]; config?: { digest: string }; layers?: { digest: string }[] };
  for (const child of body.manifests ?? []) await pushManifestTree(marina, layoutDir, repository, child.digest, child.digest);
  for (const blob of [...(body.config ? [body.config] : []), ...(body.layers ?? [])]) {
    if ((await headStatus(marina, `/v2/${repository}/blobs/${blob.digest}`)) === 200) continue;
    const file = Bun.file(path.join(layoutDir, 'blobs', ...blob.digest.split(':')));
    const res = await marina.fetch(`/v2/${repository}/blobs/uploads/?digest=${blob.digest}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(file.size) },
      body: file,
    });
    if (res.status !== 201) throw new Error(`seeding blob ${blob.digest} into ${repository}: ${res.status} ${await res.text()}`);
  }
  const res = await marina.fetch(`/v2/${repository}/manifests/${reference}`, { method: 'PUT', headers: { 'Content-Type': body.mediaType }, body: bytes });
  if (res.status !== 201) throw new Error(`seeding manifest ${digest} into ${repository}:${reference}: ${res.status} ${await res.text()}`);
}

/** The chain ID of a stack of layers (image-spec config.md "Layer ChainID"): what snapshotters key unpacked layers by. */
export function chainId(diffIds: string[]): string {
  let chain = diffIds[0]!;
  for (const diffId of diffIds.slice(1)) chain = sha256(`${chain} ${diffId}`);
  return chain;
}

/** gunzips bytes (for checking a layer blob against its diff_id). */
export function gunzip(bytes: Uint8Array): Uint8Array {
  return Bun.gunzipSync(bytes as Uint8Array<ArrayBuffer>);
}
