/**
 * In-memory storage for tests and embedding: the same contracts as the filesystem + LMDB stores, nothing on disk.
 */
import { RegistryError } from '../errors.ts';
import { digestAlgorithm, digestOf, type Digest, type DigestAlgorithm } from '../oci/digest.ts';
import { MultiHasher } from './hashing.ts';
import { referrerOf } from './records.ts';
import type { Storage } from './storage.ts';
import { pumpBody } from './stream-writer.ts';
import { ProcessLocks } from './process-locks.ts';
import type { BlobInfo, BlobStore, ManifestRecord, ManifestRequirements, MetadataIndex, Page, ReferrerDescriptor, ReferrerRange, UploadEntry, UploadLedger, UploadSession } from './types.ts';

/** A complete in-memory storage bundle. */
export function memoryStorage(): Storage {
  return { blobs: new MemoryBlobStore(), index: new MemoryIndex(), ledger: new MemoryUploadLedger(), locks: new ProcessLocks() };
}

/** {@link BlobStore} in memory. */
export class MemoryBlobStore implements BlobStore {
  private readonly blobs = new Map<Digest, Uint8Array>();
  private readonly sessions = new Map<string, MemoryUploadSession>();

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    const bytes = this.blobs.get(digest);
    return bytes ? { digest, size: bytes.byteLength } : undefined;
  }

  async open(digest: Digest): Promise<Blob | undefined> {
    const bytes = this.blobs.get(digest);
    return bytes ? new Blob([bytes]) : undefined;
  }

  async put(digest: Digest, bytes: Uint8Array): Promise<BlobInfo> {
    const actual = digestOf(bytes, digestAlgorithm(digest));
    if (actual !== digest) throw new RegistryError('DIGEST_INVALID', undefined, { detail: { expected: digest, actual } });
    this.blobs.set(digest, bytes.slice());
    return { digest, size: bytes.byteLength };
  }

  async startUpload(options: { algorithms?: DigestAlgorithm[] } = {}): Promise<UploadSession> {
    const session = new MemoryUploadSession(this, crypto.randomUUID(), new MultiHasher(options.algorithms ?? ['sha256']));
    this.sessions.set(session.id, session);
    return session;
  }

  async resumeUpload(id: string): Promise<UploadSession | undefined> {
    return this.sessions.get(id);
  }

  async delete(digest: Digest): Promise<boolean> {
    return this.blobs.delete(digest);
  }

  async *list(): AsyncIterable<Digest> {
    yield* [...this.blobs.keys()];
  }

  async close(): Promise<void> {}

  /** Stores finished upload bytes (called by a session). */
  commitBytes(id: string, digest: Digest, bytes: Uint8Array): void {
    this.sessions.delete(id);
    this.blobs.set(digest, bytes);
  }

  /** Forgets a session. */
  release(id: string): void {
    this.sessions.delete(id);
  }
}

class MemoryUploadSession implements UploadSession {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  private finished = false;

  constructor(private readonly store: MemoryBlobStore, readonly id: string, private hasher: MultiHasher) {}

  get size(): number {
    return this.bytes;
  }

  async append(body: ReadableStream<Uint8Array> | Uint8Array, expectedLength?: number): Promise<number> {
    if (this.finished) throw new RegistryError('BLOB_UPLOAD_UNKNOWN');
    const saved = this.hasher.snapshot();
    const added: Uint8Array[] = [];
    try {
      const n = await pumpBody(body, expectedLength, (chunk) => {
        added.push(chunk.slice());
        this.hasher.update(chunk);
      });
      this.chunks.push(...added);
      this.bytes += n;
      return this.bytes;
    } catch (e) {
      this.hasher = saved;
      throw e;
    }
  }

  async commit(expected: Digest): Promise<BlobInfo> {
    if (this.finished) throw new RegistryError('BLOB_UPLOAD_UNKNOWN');
    const bytes = Buffer.concat(this.chunks);
    const algorithm = digestAlgorithm(expected);
    const actual = this.hasher.digest(algorithm) ?? digestOf(bytes, algorithm);
    if (actual !== expected) throw new RegistryError('DIGEST_INVALID', undefined, { detail: { expected, actual } });
    this.finished = true;
    this.store.commitBytes(this.id, expected, new Uint8Array(bytes));
    return { digest: expected, size: this.bytes };
  }

  async cancel(): Promise<void> {
    this.finished = true;
    this.chunks = [];
    this.store.release(this.id);
  }
}

/** {@link MetadataIndex} in memory, with the same ordering rules as the LMDB index. */
export class MemoryIndex implements MetadataIndex {
  private readonly links = new Map<string, Map<Digest, number>>();
  /** Sizes recorded by links (content-addressed: one per digest). */
  private readonly sizes = new Map<Digest, number>();
  private readonly manifests = new Map<string, Map<Digest, ManifestRecord>>();
  private readonly tags = new Map<string, Map<string, Digest>>();
  private readonly referrers = new Map<string, Map<Digest, Map<Digest, ReferrerDescriptor>>>();
  private readonly generations = new Map<string, number>();
  /** digest → token → a hold or deletion claim with its expiry. */
  private readonly holds = new Map<Digest, Map<string, { kind: 'hold' | 'delete'; until: number }>>();

  hasBlob(repository: string, digest: Digest): boolean {
    return this.links.get(repository)?.has(digest) ?? false;
  }
  blobLink(repository: string, digest: Digest): { size?: number } | undefined {
    return this.hasBlob(repository, digest) ? { size: this.sizes.get(digest) } : undefined;
  }
  async recordBlobSize(repository: string, digest: Digest, size: number): Promise<void> {
    if (this.hasBlob(repository, digest)) this.sizes.set(digest, size);
  }
  async linkBlob(repository: string, digest: Digest, hold?: string, size?: number): Promise<boolean> {
    if (hold !== undefined) {
      // A claim removes expired holds before it is granted: a hold still present means no deletion began.
      if (!this.holds.get(digest)?.delete(hold)) return false;
    } else if (this.liveHolds(digest).some((h) => h.kind === 'delete')) return false;
    getOrCreate(this.links, repository, () => new Map<Digest, number>()).set(digest, Date.now());
    if (size !== undefined) this.sizes.set(digest, size);
    return true;
  }
  async touchBlobLink(repository: string, digest: Digest, olderThan: number): Promise<boolean> {
    const links = this.links.get(repository);
    const at = links?.get(digest);
    if (at === undefined) return false;
    if (at < olderThan) links!.set(digest, Date.now());
    return true;
  }
  async unlinkBlob(repository: string, digest: Digest, ifUnused?: { linkedBefore: number; generation: number }): Promise<boolean> {
    const at = this.links.get(repository)?.get(digest);
    if (at === undefined) return false;
    if (ifUnused && (at >= ifUnused.linkedBefore || this.repositoryGeneration(repository) !== ifUnused.generation)) return false;
    this.links.get(repository)!.delete(digest);
    if (!this.isBlobLinkedAnywhere(digest)) this.sizes.delete(digest);
    return true;
  }
  repositoryGeneration(repository: string): number {
    return this.generations.get(repository) ?? 0;
  }
  async holdBlob(digest: Digest, ttlMs: number): Promise<string | undefined> {
    if (this.liveHolds(digest).some((h) => h.kind === 'delete')) return undefined;
    const token = crypto.randomUUID();
    getOrCreate(this.holds, digest, () => new Map()).set(token, { kind: 'hold', until: Date.now() + ttlMs });
    return token;
  }
  async claimBlobDeletion(digest: Digest, ttlMs: number): Promise<string | undefined> {
    if (this.isBlobLinkedAnywhere(digest) || this.liveHolds(digest).length) return undefined;
    const token = crypto.randomUUID();
    getOrCreate(this.holds, digest, () => new Map()).set(token, { kind: 'delete', until: Date.now() + ttlMs });
    return token;
  }
  async releaseBlob(digest: Digest, token: string): Promise<void> {
    const holds = this.holds.get(digest);
    holds?.delete(token);
    if (holds && !holds.size) this.holds.delete(digest);
  }
  /** Unexpired holds and claims of a blob; expired ones are dropped. */
  private liveHolds(digest: Digest): { kind: 'hold' | 'delete'; until: number }[] {
    const holds = this.holds.get(digest);
    if (!holds) return [];
    const now = Date.now();
    for (const [token, hold] of holds) if (hold.until <= now) holds.delete(token);
    return [...holds.values()];
  }
  findBlobRepository(digest: Digest, except?: string): string | undefined {
    for (const repository of [...this.links.keys()].sort()) {
      if (repository !== except && this.links.get(repository)!.has(digest)) return repository;
    }
    return undefined;
  }
  isBlobLinkedAnywhere(digest: Digest): boolean {
    return this.findBlobRepository(digest) !== undefined;
  }
  listBlobLinks(repository: string): { digest: Digest; linkedAt: number }[] {
    return [...(this.links.get(repository) ?? [])].map(([digest, linkedAt]) => ({ digest, linkedAt })).sort((a, b) => byteOrder(a.digest, b.digest));
  }
  listManifestDigests(repository: string): Digest[] {
    return [...(this.manifests.get(repository)?.keys() ?? [])].sort(byteOrder);
  }
  getManifest(repository: string, digest: Digest): ManifestRecord | undefined {
    return this.manifests.get(repository)?.get(digest);
  }
  resolveTag(repository: string, tag: string): Digest | undefined {
    return this.tags.get(repository)?.get(tag);
  }
  async putManifest(repository: string, record: ManifestRecord, tags: string[], requires: ManifestRequirements): Promise<void> {
    const missing = [
      ...requires.blobs.filter((d) => !this.hasBlob(repository, d)),
      ...requires.manifests.filter((d) => !this.getManifest(repository, d)),
    ];
    if (missing.length) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references unknown blobs or manifests: ${missing.slice(0, 5).join(', ')}`, { detail: { missing } });
    }
    const now = Date.now();
    for (const blob of requires.blobs) this.links.get(repository)!.set(blob, now);
    this.generations.set(repository, this.repositoryGeneration(repository) + 1);
    getOrCreate(this.manifests, repository, () => new Map()).set(record.digest, { ...record, body: record.body.slice() });
    const repoTags = getOrCreate(this.tags, repository, () => new Map());
    for (const tag of tags) repoTags.set(tag, record.digest);
    if (record.subject) {
      const bySubject = getOrCreate(this.referrers, repository, () => new Map());
      getOrCreate(bySubject, record.subject, () => new Map()).set(record.digest, referrerOf(record));
    }
  }
  async deleteManifest(repository: string, digest: Digest): Promise<boolean> {
    const record = this.manifests.get(repository)?.get(digest);
    if (!record) return false;
    this.manifests.get(repository)!.delete(digest);
    const repoTags = this.tags.get(repository);
    for (const [tag, target] of repoTags ?? []) if (target === digest) repoTags!.delete(tag);
    if (record.subject) this.referrers.get(repository)?.get(record.subject)?.delete(digest);
    return true;
  }
  async deleteTag(repository: string, tag: string): Promise<boolean> {
    return this.tags.get(repository)?.delete(tag) ?? false;
  }
  listTags(repository: string, options: { last?: string; limit: number }): Page {
    return pageOf([...(this.tags.get(repository)?.keys() ?? [])], options);
  }
  tagsOf(repository: string, digest: Digest): string[] {
    return [...(this.tags.get(repository) ?? [])].filter(([, d]) => d === digest).map(([t]) => t).sort(byteOrder);
  }
  listReferrers(repository: string, subject: Digest, artifactType?: string, range: ReferrerRange = {}): ReferrerDescriptor[] {
    const entries = [...(this.referrers.get(repository)?.get(subject)?.values() ?? [])]
      .filter((d) => (artifactType === undefined || d.artifactType === artifactType) && (range.after === undefined || d.digest > range.after))
      .sort((a, b) => byteOrder(a.digest, b.digest));
    return entries.slice(0, range.limit ?? entries.length);
  }
  hasRepository(repository: string): boolean {
    return Boolean(this.links.get(repository)?.size || this.manifests.get(repository)?.size || this.tags.get(repository)?.size);
  }
  listRepositories(options: { last?: string; limit: number }): Page {
    const names = new Set([...this.links.keys(), ...this.manifests.keys(), ...this.tags.keys()]);
    return pageOf([...names].filter((r) => this.hasRepository(r)), options);
  }
  async close(): Promise<void> {}
}

/** {@link UploadLedger} in memory. */
export class MemoryUploadLedger implements UploadLedger {
  private readonly entries = new Map<string, UploadEntry>();
  add(entry: UploadEntry): void {
    if (this.entries.has(entry.id)) throw new Error(`upload ${entry.id} is already recorded`);
    this.entries.set(entry.id, { ...entry });
  }
  get(id: string): UploadEntry | undefined {
    const e = this.entries.get(id);
    return e && { ...e };
  }
  touch(id: string, at: number): void {
    const e = this.entries.get(id);
    if (e) e.touchedAt = at;
  }
  remove(id: string): void {
    this.entries.delete(id);
  }
  idleSince(before: number): UploadEntry[] {
    return [...this.entries.values()].filter((e) => e.touchedAt < before).map((e) => ({ ...e }));
  }
  count(repository?: string): number {
    if (repository === undefined) return this.entries.size;
    let n = 0;
    for (const e of this.entries.values()) if (e.repository === repository) n++;
    return n;
  }
  countOwnedBy(owner: string): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.owner === owner) n++;
    return n;
  }
  close(): void {}
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = make()));
  return value;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function pageOf(names: string[], options: { last?: string; limit: number }): Page {
  const after = names.sort(byteOrder).filter((n) => options.last === undefined || n > options.last);
  return { items: after.slice(0, options.limit), more: after.length > options.limit };
}
