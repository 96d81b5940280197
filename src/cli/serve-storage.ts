/**
 * Which stores `marina serve` runs on: filesystem blobs and LMDB under `--data` (the default), S3 blobs
 * (`--blobs s3://…`), and PostgreSQL metadata shared by many nodes (`--index postgres://…`) with either blob store.
 * Remote stores are checked before the server listens, so a wrong credential stops it at start-up with the reason.
 */
import { FsBlobStore } from '../storage/fs-blob-store.ts';
import { pgStorage, type PgStorage } from '../storage/pg-storage.ts';
import { s3BlobStoreOptions } from '../storage/s3-config.ts';
import { S3BlobStore, type S3BlobStoreOptions } from '../storage/s3-blob-store.ts';
import { fsStorage, s3Storage, type Storage } from '../storage/storage.ts';
import type { RegistryOptions } from '../options.ts';
import type { ServeConfig } from './config.ts';

/** The storage of a server; `sharedByWorkers` when `--workers` runs several processes on the data directory. */
export async function serveStorage(config: ServeConfig, data: string, sharedByWorkers: boolean): Promise<Storage> {
  const s3 = config.blobs ? await s3Blobs(config, config.blobs) : undefined;
  if (config.index) {
    const blobs = s3?.blobs ?? new FsBlobStore({ root: data, sync: config.sync });
    return pgStorage({ url: config.index, blobs, root: data, poolSize: config.indexPoolSize });
  }
  if (!s3) return fsStorage({ root: data, sync: config.sync, locks: sharedByWorkers ? 'host' : 'process' });
  return s3Storage({ root: data, s3: s3.options, blobs: s3.blobs });
}

/** The mirror's options with its cache ledger in the shared database when the index is there. */
export function withSharedMirrorLedger(mirror: RegistryOptions['mirror'], storage: Storage): RegistryOptions['mirror'] {
  if (!mirror || !('mirrorLedger' in storage)) return mirror;
  return { ...mirror, ledger: (storage as PgStorage).mirrorLedger() };
}

/** The S3 blob store of `--blobs`, its access checked. */
async function s3Blobs(config: ServeConfig, location: string): Promise<{ options: S3BlobStoreOptions; blobs: S3BlobStore }> {
  const options = s3BlobStoreOptions(location, {
    endpoint: config.s3Endpoint,
    region: config.s3Region,
    accessKeyId: config.s3AccessKeyId,
    secretAccessKey: config.s3SecretAccessKey,
    virtualHostedStyle: config.s3VirtualHostedStyle,
    partSize: config.s3PartSize,
    redirect: config.s3Redirect,
  }, process.env);
  const blobs = new S3BlobStore(options);
  await blobs.checkAccess();
  return { options, blobs };
}
