/**
 * The stores a command runs on, from the same settings as `marina serve` (flags, MARINA_* variables, config file):
 * filesystem blobs under the data directory, or S3 blobs (`blobs: s3://bucket/prefix`) with the index, upload
 * ledger and locks still in the data directory. `serve`, `gc` and `retention run` all open storage here, so a
 * command never looks at a different blob store than the server it tidies up after.
 */
import * as path from 'node:path';
import { fsStorage, s3Storage, type Storage } from '../storage/storage.ts';
import { s3BlobStoreOptions } from '../storage/s3-config.ts';
import { S3BlobStore } from '../storage/s3-blob-store.ts';
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
  if (!config.blobs) return fsStorage({ root: data, sync: config.sync, locks });
  const s3 = s3BlobStoreOptions(config.blobs, {
    endpoint: config.s3Endpoint,
    region: config.s3Region,
    accessKeyId: config.s3AccessKeyId,
    secretAccessKey: config.s3SecretAccessKey,
    virtualHostedStyle: config.s3VirtualHostedStyle,
    partSize: config.s3PartSize,
    redirect: config.s3Redirect,
  }, options.env ?? process.env);
  const blobs = new S3BlobStore(s3);
  await blobs.checkAccess();
  return s3Storage({ root: data, s3, blobs, locks });
}
