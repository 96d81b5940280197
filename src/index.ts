/** Marina's public library surface. Re-exports only. */
export { createRegistry, type Registry } from './registry.ts';
export { DEFAULTS, type RegistryOptions } from './options.ts';
export { fsStorage, type Storage, type FsStorageOptions } from './storage/storage.ts';
export { FsBlobStore } from './storage/fs-blob-store.ts';
export { LmdbIndex } from './storage/lmdb-index.ts';
export { SqliteUploadLedger, type UploadLedger, type UploadEntry } from './storage/upload-ledger.ts';
export type * from './storage/types.ts';
export { RegistryError, ERROR_TABLE, type ErrorCode } from './errors.ts';
export type { Authorize, AuthRequest, AuthResult, AuthAction } from './http/auth.ts';
export type { RegistryEvent, RegistryEvents } from './core/context.ts';
export { createLogger, type Logger, type LogLevel } from './logger.ts';
export { parseDigest, digestOf, type Digest, type DigestAlgorithm } from './oci/digest.ts';
export { memoryStorage, MemoryBlobStore, MemoryIndex, MemoryUploadLedger } from './storage/memory.ts';
export { registryPlugin } from './http/plugin.ts';
export { isUploadRequest } from './http/body-reader.ts';
export * as mediaTypes from './oci/media-types.ts';
export { importLayout, type ImportReport } from './layout/import-layout.ts';
export type { GcOptions, GcReport } from './core/gc.ts';
