/**
 * The stores a command runs on, from the same settings as `marina serve` (flags, MARINA_* variables, config file):
 * filesystem blobs and LMDB under the data directory (the default), S3 blobs (`blobs: s3://bucket/prefix`), and
 * PostgreSQL metadata shared by many nodes (`index: postgres://…`) with either blob store. `serve`, `gc` and
 * `retention run` all open storage here, so a command never looks at other stores than the server it tidies up
 * after. Remote stores are checked first, so a wrong credential stops a command at start-up with the reason.
 */
import * as path from 'node:path';
import { FsBlobStore } from '../storage/fs-blob-store.ts';
import type { PgStorage } from '../storage/pg-storage.ts';
import { fsStorage, type Storage } from '../storage/storage.ts';
import type { RegistryOptions } from '../options.ts';
import type { ServeConfig } from './config.ts';

/** Options of {@link openStorage}. */
export interface OpenStorageOptions {
  /** Other processes (workers of one `serve`) share the data directory: locks and index caches follow them. */
  shared?: boolean;
  /** Environment for the S3 credentials and endpoint (AWS_*, S3_*). @default process.env */
  env?: Record<string, string | undefined>;
}

/** Opens the configured storage; for S3, first checks (one short listing) that the bucket answers. */
export async function openStorage(config: ServeConfig, options: OpenStorageOptions = {}): Promise<Storage> {
  const data = path.resolve(config.data);
  const locks = options.shared ? 'host' : 'process';
  const s3 = config.blobs ? await s3Blobs(config, config.blobs, options.env ?? process.env) : undefined;
  if (config.index) {
    const blobs = s3?.blobs ?? new FsBlobStore({ root: data, sync: config.sync });
    // Remote stores load only when configured: the embedded default starts without them (cold start).
    const { pgStorage } = await import('../storage/pg-storage.ts');
    return pgStorage({ url: config.index, blobs, root: data, poolSize: config.indexPoolSize });
  }
  if (!s3) return fsStorage({ root: data, sync: config.sync, locks });
  const { s3Storage } = await import('../storage/s3-storage.ts');
  return s3Storage({ root: data, s3: s3.options, blobs: s3.blobs, locks });
}

/** The mirror's options with its cache ledger in the shared database when the index is there. */
export function withSharedMirrorLedger(mirror: RegistryOptions['mirror'], storage: Storage): RegistryOptions['mirror'] {
  if (!mirror || !('mirrorLedger' in storage)) return mirror;
  return { ...mirror, ledger: (storage as PgStorage).mirrorLedger() };
}

/** The S3 blob store of `blobs`, its access checked. */
async function s3Blobs(config: ServeConfig, location: string, env: Record<string, string | undefined>) {
  const { s3BlobStoreOptions } = await import('../storage/s3-config.ts');
  const { S3BlobStore } = await import('../storage/s3-blob-store.ts');
  const options = s3BlobStoreOptions(location, {
    endpoint: config.s3Endpoint,
    region: config.s3Region,
    accessKeyId: config.s3AccessKeyId,
    secretAccessKey: config.s3SecretAccessKey,
    virtualHostedStyle: config.s3VirtualHostedStyle,
    partSize: config.s3PartSize,
    redirect: config.s3Redirect,
  }, env);
  const blobs = new S3BlobStore(options);
  await blobs.checkAccess();
  return { options, blobs };
}
