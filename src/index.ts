/** Marina's public library surface. Re-exports only. */
export { createRegistry, type Registry } from './registry.ts';
export { DEFAULTS, type RegistryOptions } from './options.ts';
export { fsStorage, s3Storage, type Storage, type FsStorageOptions, type S3StorageOptions } from './storage/storage.ts';
export { S3BlobStore, type S3BlobStoreOptions } from './storage/s3-blob-store.ts';
export { FsBlobStore } from './storage/fs-blob-store.ts';
export { LmdbIndex } from './storage/lmdb-index.ts';
export { SqliteUploadLedger, type UploadLedger, type UploadEntry } from './storage/upload-ledger.ts';
export type * from './storage/types.ts';
export { RegistryError, ERROR_TABLE, type ErrorCode } from './errors.ts';
export type { Authorize, AuthRequest, AuthResult, AuthAction, Identity } from './http/auth.ts';
export { htpasswdAuth, type HtpasswdAuthOptions } from './auth/htpasswd-auth.ts';
export { htpasswdUsers, type HtpasswdUsers, type HtpasswdUsersOptions } from './auth/htpasswd-users.ts';
export { accessRules, readAccessFile, type AccessRules, type AccessFile } from './auth/access-rules.ts';
export { tokenAuth, type TokenAuth, type TokenAuthOptions } from './auth/token-auth.ts';
export { loadSigningKey, type SigningKey } from './auth/signing-key.ts';
export { jwksKeys, type JwksOptions } from './auth/jwks.ts';
export type { TrustedIssuer } from './auth/token-verifier.ts';
export { rateLimited, rateLimiter, type RateLimiter, type RateLimitOptions, type Budget } from './auth/rate-limit.ts';
export { rememberClientAddress } from './auth/client-address.ts';
export type { RegistryEvent, RegistryEvents } from './core/context.ts';
export { createLogger, type Logger, type LogLevel } from './logger.ts';
export { parseDigest, digestOf, type Digest, type DigestAlgorithm } from './oci/digest.ts';
export { memoryStorage, MemoryBlobStore, MemoryIndex, MemoryUploadLedger } from './storage/memory.ts';
export { registryPlugin } from './http/plugin.ts';
export { isUploadRequest } from './http/body-reader.ts';
export * as mediaTypes from './oci/media-types.ts';
export { importLayout, type ImportReport } from './layout/import-layout.ts';
export type { GcOptions, GcReport } from './core/gc.ts';
export { createWebUi, isUiPath, type WebUi, type WebUiOptions } from './ui/routes.ts';
// --- lifecycle ---
export { exportLayout, type ExportReport } from './layout/export-layout.ts';
export { warmImages, type WarmOptions, type WarmReport } from './lifecycle/warm.ts';
export type { RetentionRule, QuotaRule } from './lifecycle/rules.ts';
export type { RetentionOptions, RetentionReport } from './lifecycle/retention.ts';
export type { RetentionItem } from './lifecycle/retention-plan.ts';
export type { RepositoryUsage } from './lifecycle/quota.ts';
export type { LifecycleOptions } from './lifecycle/lifecycle.ts';
// --- end lifecycle ---
