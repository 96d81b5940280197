/**
 * createRegistry: the core operations bound to a set of stores, plus the HTTP faces (a fetch handler and an Elysia
 * plugin). The server in `src/cli` is one user of this; applications embed it the same way.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as blobs from './core/blobs.ts';
import * as gc from './core/gc.ts';
import type { CoreContext, CoreSettings } from './core/context.ts';
import { Lifecycle } from './lifecycle/lifecycle.ts';
import type { RepositoryUsage } from './lifecycle/quota.ts';
import type { RetentionOptions, RetentionReport } from './lifecycle/retention.ts';
import * as listings from './core/listings.ts';
import * as manifests from './core/manifests.ts';
import * as referrers from './core/referrers.ts';
import * as uploads from './core/uploads.ts';
import { createDispatcher } from './http/dispatch.ts';
import { Mirror } from './mirror/mirror.ts';
import type { registryPlugin } from './http/plugin.ts';
import { createLogger, type Logger } from './logger.ts';
import { digestOf, parseDigest } from './oci/digest.ts';
import { parseRepositoryName } from './oci/names.ts';
import { DEFAULTS, type RegistryOptions } from './options.ts';
import { ProcessLocks } from './storage/process-locks.ts';
import { fsStorage, type Storage } from './storage/storage.ts';
import type { BlobInfo, ManifestRecord } from './storage/types.ts';

/** A registry: call its operations directly, or serve it over HTTP with `fetch` or `plugin`. */
export interface Registry {
  /** `Request → Response` handler for `Bun.serve` or any fetch-style host. */
  fetch(request: Request): Promise<Response>;
  /** An Elysia plugin serving `/v2/*`: `app.use(registry.plugin)`. */
  readonly plugin: ReturnType<typeof registryPlugin>;
  /** The stores in use. */
  readonly storage: Storage;
  readonly logger: Logger;
  /** Protocol settings in force; changing a field applies to the next request (live reload). */
  readonly settings: CoreSettings;

  /** Stores a blob in a repository (monolithic upload); the digest is computed when not given. */
  putBlob(repository: string, body: Uint8Array | ReadableStream<Uint8Array>, digest?: string): Promise<BlobInfo>;
  /** A blob's bytes and size, or BLOB_UNKNOWN. */
  getBlob(repository: string, digest: string): Promise<blobs.OpenedBlob>;
  /** Removes a blob from a repository. */
  deleteBlob(repository: string, digest: string): Promise<void>;
  /** Stores a manifest under a tag or digest (plus extra tags). */
  putManifest(repository: string, reference: string, body: Uint8Array | string, mediaType?: string, tags?: string[]): Promise<manifests.PutManifestResult>;
  /** The manifest a tag or digest names, or MANIFEST_UNKNOWN. */
  getManifest(repository: string, reference: string): Promise<ManifestRecord>;
  /** Deletes a tag, or a manifest by digest. */
  deleteManifest(repository: string, reference: string): Promise<void>;
  /** Tags in lexical order. */
  listTags(repository: string, query?: listings.PageQuery): Promise<listings.Listing>;
  /** Repositories in lexical order. */
  listRepositories(query?: listings.PageQuery): Promise<listings.Listing>;
  /** Referrers of a subject, optionally filtered by artifact type. */
  listReferrers(repository: string, subject: string, artifactType?: string): Promise<referrers.ReferrersPage>;
  /** The pull-through mirror, when configured (counters, eviction). */
  readonly mirror: Mirror | undefined;
  /** Removes blob links no manifest references (after a grace period) and blob files no repository links. */
  collectGarbage(options?: gc.GcOptions): Promise<gc.GcReport>;
  /** Applies the retention rules once (deleting through the usual delete operations); see RegistryOptions.retention. */
  runRetention(options?: RetentionOptions): Promise<RetentionReport>;
  /** Bytes of unique blobs a repository's manifests reference, with the quota that applies. */
  usage(repository: string): Promise<RepositoryUsage>;
  /**
   * Purges upload sessions idle longer than the configured timeout (skipping any with a request in flight); returns
   * how many. A call while a purge is running joins that run.
   */
  purgeUploads(): Promise<number>;
  /** Stops timers and closes the stores. */
  close(): Promise<void>;
}

/** Builds a registry from options; see {@link RegistryOptions} for defaults. */
export function createRegistry(options: RegistryOptions = {}): Registry {
  const logger = options.logger ?? createLogger('info');
  const storage = options.storage ?? fsStorage({ root: DEFAULTS.dataDir });
  const settings: CoreSettings = {
    readOnly: options.readOnly ?? DEFAULTS.readOnly,
    deleteEnabled: options.deleteEnabled ?? DEFAULTS.deleteEnabled,
    maxManifestSize: options.maxManifestSize ?? DEFAULTS.maxManifestSize,
    referrersEnabled: options.referrersEnabled ?? DEFAULTS.referrersEnabled,
    anonymousMount: options.anonymousMount ?? DEFAULTS.anonymousMount,
    referrersPageSize: options.referrersPageSize ?? DEFAULTS.referrersPageSize,
    maxPageSize: options.maxPageSize ?? DEFAULTS.maxPageSize,
    maxUploadSize: options.maxUploadSize ?? DEFAULTS.maxUploadSize,
    maxUploadSessions: options.maxUploadSessions ?? DEFAULTS.maxUploadSessions,
    maxUploadSessionsPerRepository: options.maxUploadSessionsPerRepository ?? DEFAULTS.maxUploadSessionsPerRepository,
    maxUploadSessionsPerUser: options.maxUploadSessionsPerUser ?? DEFAULTS.maxUploadSessionsPerUser,
  };
  const core: CoreContext = {
    ...storage,
    settings,
    events: options.events ?? {},
    onListenerError: (error) => logger.error('event listener failed', { error }),
    locks: storage.locks ?? new ProcessLocks(),
  };
  // Push times live beside the index; a storage without a directory keeps them in memory.
  const upstreams = options.mirror?.upstreams.map((u) => `${u.name}/`) ?? [];
  const lifecycle = new Lifecycle(core, options, {
    file: storage.root ? path.join(storage.root, 'lifecycle.sqlite') : ':memory:',
    // Mirrored repositories (`<upstream>/<name>`) are the mirror's cache; its eviction manages them.
    exempt: (repository) => upstreams.some((prefix) => repository.startsWith(prefix)),
  });
  core.manifestHooks = lifecycle.hooks;
  const mirrored = options.mirror ? createMirror(core, options.mirror, storage, logger) : undefined;
  const mirror = mirrored?.mirror;
  const fetch = createDispatcher({
    core,
    logger,
    mirror,
    authorize: options.authorize,
    observer: options.observer,
    http: {
      chunkMinLength: options.chunkMinLength ?? DEFAULTS.chunkMinLength,
      bodyIdleTimeoutMs: options.bodyIdleTimeoutMs ?? DEFAULTS.bodyIdleTimeoutMs,
      minBodyRate: options.minBodyRate ?? DEFAULTS.minBodyRate,
      releaseBodyChunks: options.releaseBodyChunks ?? false,
    },
  });
  const idleMs = options.uploadIdleTimeoutMs ?? DEFAULTS.uploadIdleTimeoutMs;
  // One purge at a time: a timer tick that finds the previous run still going joins it instead of stacking up.
  let purging: Promise<number> | undefined;
  const purgeUploads = () => (purging ??= uploads.purgeIdleUploads(core, idleMs).finally(() => (purging = undefined)));
  const purgeTimer = setInterval(() => {
    purgeUploads().catch((error) => logger.error('upload purge failed', { error }));
  }, Math.max(1000, Math.min(idleMs, 60 * 60 * 1000)));
  purgeTimer.unref();

  let plugin: ReturnType<typeof registryPlugin> | undefined;
  return {
    fetch,
    // Built on first use: it loads Elysia, which `registry.fetch` (and `marina serve`'s registry paths) never need.
    get plugin() {
      return (plugin ??= (require('./http/plugin.ts') as typeof import('./http/plugin.ts')).registryPlugin(fetch));
    },
    storage,
    logger,
    settings,
    async putBlob(repository, body, digest) {
      const name = parseRepositoryName(repository);
      if (digest === undefined) {
        if (!(body instanceof Uint8Array)) throw new TypeError('putBlob needs a digest for a streamed body');
        digest = digestOf(body);
      }
      const result = await uploads.startUpload(core, name, { digest: parseDigest(digest), body });
      if (result.kind !== 'created') throw new Error('unreachable: a monolithic upload always completes');
      return result.blob;
    },
    getBlob: (repository, digest) => blobs.openBlob(core, parseRepositoryName(repository), parseDigest(digest)),
    deleteBlob: (repository, digest) => blobs.deleteBlob(core, parseRepositoryName(repository), parseDigest(digest)),
    putManifest: (repository, reference, body, mediaType, tags) =>
      manifests.putManifest(core, parseRepositoryName(repository), reference, typeof body === 'string' ? new TextEncoder().encode(body) : body, mediaType, tags),
    getManifest: async (repository, reference) => manifests.getManifest(core, parseRepositoryName(repository), reference),
    deleteManifest: (repository, reference) => manifests.deleteManifest(core, parseRepositoryName(repository), reference),
    listTags: (repository, query = {}) => listings.listTags(core, parseRepositoryName(repository), query),
    listRepositories: (query = {}) => listings.listRepositories(core, query),
    listReferrers: (repository, subject, artifactType) =>
      referrers.listReferrers(core, parseRepositoryName(repository), parseDigest(subject), { artifactType }),
    purgeUploads,
    runRetention: (retentionOptions) => lifecycle.runRetention(retentionOptions),
    usage: (repository) => lifecycle.usage(parseRepositoryName(repository)),
    collectGarbage: (gcOptions) => gc.collectGarbage(core, gcOptions),
    mirror,
    async close() {
      clearInterval(purgeTimer);
      // A purge in flight finishes before its stores close (with a network ledger it is still waiting for answers).
      await purging?.catch(() => undefined);
      await mirror?.close();
      if (mirrored?.tempDir) fs.rmSync(mirrored.tempDir, { recursive: true, force: true });
      await storage.blobs.close();
      await storage.index.close();
      await storage.ledger.close();
      lifecycle.close();
      await core.locks.close();
    },
  };
}

/** The mirror, and a temporary spool directory to remove on close when the storage has no directory of its own. */
function createMirror(core: CoreContext, options: NonNullable<RegistryOptions['mirror']>, storage: Storage, logger: Logger): { mirror: Mirror; tempDir?: string } {
  // The spool sits beside the uploads so a verified fill becomes a blob by rename.
  const tempDir = options.spoolDir || storage.root ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'marina-spool-'));
  const spoolDir = options.spoolDir ?? tempDir ?? path.join(storage.root!, 'uploads');
  const ledgerFile = options.ledgerFile ?? (storage.root ? path.join(storage.root, 'mirror.sqlite') : ':memory:');
  return { mirror: new Mirror(core, { ...options, spoolDir, ledgerFile }, logger), tempDir };
}
