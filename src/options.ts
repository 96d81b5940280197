/** Options of {@link createRegistry}, with their defaults. */
import type { RegistryEvents } from './core/context.ts';
import type { Authorize } from './http/auth.ts';
import type { RequestObserver } from './http/dispatch.ts';
import type { LifecycleOptions } from './lifecycle/lifecycle.ts';
import type { Logger } from './logger.ts';
import type { Storage } from './storage/storage.ts';
import type { MirrorOptions } from './mirror/options.ts';

/** How a registry is built. Every field is optional. Lifecycle: `retention`, `quotas`, `clock`. */
export interface RegistryOptions extends LifecycleOptions {
  /** Where blobs and metadata live. @default fsStorage({ root: './data' }) */
  storage?: Storage;
  /** Refuse every write (pushes and deletes answer 405 UNSUPPORTED). @default false */
  readOnly?: boolean;
  /** Allow DELETE of manifests, tags and blobs; off answers 405 UNSUPPORTED. @default true */
  deleteEnabled?: boolean;
  /** Largest manifest accepted, in bytes; larger ones get 413. @default 4 MiB */
  maxManifestSize?: number;
  /** Serve the referrers API; off makes clients fall back to `<alg>-<hex>` tags. @default true */
  referrersEnabled?: boolean;
  /** Mount a blob found in any repository when `?mount=` has no `from`. @default true */
  anonymousMount?: boolean;
  /** Advertised OCI-Chunk-Min-Length: the smallest chunk a client should PATCH, in bytes. @default 1024 */
  chunkMinLength?: number;
  /** Page size of referrers lists before Link pagination. @default 1000 */
  referrersPageSize?: number;
  /** Largest `n` honoured by tags and catalog listings. @default 10000 */
  maxPageSize?: number;
  /** Upload sessions untouched for this long are purged. @default 24 h */
  uploadIdleTimeoutMs?: number;
  /** Largest total size of one blob upload, in bytes; past it the upload answers 413 BLOB_UPLOAD_INVALID. @default 32 GiB */
  maxUploadSize?: number;
  /** Open upload sessions allowed in the whole registry; past it a new upload answers 429 TOOMANYREQUESTS. @default 4096 */
  maxUploadSessions?: number;
  /** Open upload sessions allowed in one repository; past it a new upload answers 429 TOOMANYREQUESTS. @default 512 */
  maxUploadSessionsPerRepository?: number;
  /**
   * Open upload sessions allowed to one authenticated user (anonymous clients are held by the other caps only), so
   * one account cannot take every place of the registry-wide cap. @default 256
   */
  maxUploadSessionsPerUser?: number;
  /**
   * An upload body that sends no byte for this long is cut: the chunk is dropped (the session stays as it was) and
   * the client gets 408 BLOB_UPLOAD_INVALID. @default 60 s
   */
  bodyIdleTimeoutMs?: number;
  /**
   * Fewest bytes per second an upload body must average over each `bodyIdleTimeoutMs` window, so a client cannot
   * hold a request open by trickling a byte now and then; below it the chunk is dropped with 408. 0 turns it off.
   * @default 1024 (1 KiB/s: 60 KiB per minute with the default window)
   */
  minBodyRate?: number;
  /**
   * Free each upload body chunk's memory as soon as it is written, instead of leaving dead chunks to the garbage
   * collector (8 concurrent pushes otherwise held 100+ MiB of them). Only for request bodies whose chunks nothing
   * else holds, such as those Bun.serve reads from a socket (`marina serve` turns it on); leave it off when your
   * code hands the registry streams that enqueue buffers it keeps using. @default false
   */
  releaseBodyChunks?: boolean;
  /** Decides who may pull, push and delete. @default everyone may do everything */
  authorize?: Authorize;
  /** Push, pull and delete notifications. */
  events?: RegistryEvents;
  /** Sees every request and its response: metrics, access logs, request ids (see `src/ops`). */
  observer?: RequestObserver;
  /** Where logs go. @default JSON lines on stderr at level info */
  logger?: Logger;
  /**
   * Pull-through mirror of upstream registries. `spoolDir` and `ledgerFile` default to the storage's data
   * directory (or a temporary directory and an in-memory ledger for storage without one).
   */
  mirror?: Omit<MirrorOptions, 'spoolDir' | 'ledgerFile'> & Partial<Pick<MirrorOptions, 'spoolDir' | 'ledgerFile'>>;
}

/** The defaults applied by createRegistry. */
export const DEFAULTS = {
  dataDir: './data',
  readOnly: false,
  deleteEnabled: true,
  maxManifestSize: 4 * 1024 * 1024,
  referrersEnabled: true,
  anonymousMount: true,
  chunkMinLength: 1024,
  referrersPageSize: 1000,
  maxPageSize: 10000,
  uploadIdleTimeoutMs: 24 * 60 * 60 * 1000,
  maxUploadSize: 32 * 1024 ** 3,
  maxUploadSessions: 4096,
  maxUploadSessionsPerRepository: 512,
  maxUploadSessionsPerUser: 256,
  bodyIdleTimeoutMs: 60_000,
  minBodyRate: 1024,
} as const;
