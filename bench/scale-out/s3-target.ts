/**
 * Marina with its blobs in S3: `marina serve --blobs s3://<bucket>/<prefix>` against a SeaweedFS the harness
 * started on this machine (same cores as everything else), index and ledger in the target's data directory.
 */
import { createLogger, createRegistry } from '../../src/index.ts';
import { S3BlobStore, type S3BlobStoreOptions } from '../../src/storage/s3-blob-store.ts';
import { s3Storage } from '../../src/storage/s3-storage.ts';
import type { DataSet } from '../data/dataset.ts';
import { MarinaTarget } from '../targets/marina.ts';
import type { TargetEnv } from '../targets/process-target.ts';

/** Where the S3 target keeps its blobs. */
export interface S3Place {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  prefix: string;
}

/** Marina on S3 blobs; seeds only the pulled blobs of the sizes the S3 cases read. */
export class MarinaS3Target extends MarinaTarget {
  private readonly store: S3BlobStore;
  private readonly deletes = new Set<Promise<unknown>>();

  constructor(
    env: TargetEnv,
    private readonly place: S3Place,
    private readonly sizes: number[],
  ) {
    super(env, { id: 'marina-s3', label: 'Marina on S3 (SeaweedFS)' });
    this.notes.push(`blobs in S3: SeaweedFS ${place.endpoint} on the same machine and cores (weed server -s3), index on the local disk`);
    this.store = new S3BlobStore(this.s3Options());
  }

  private s3Options(): S3BlobStoreOptions {
    const { endpoint, region, accessKeyId, secretAccessKey, bucket, prefix } = this.place;
    return { endpoint, region, accessKeyId, secretAccessKey, bucket, prefix };
  }

  override async seed(data: DataSet): Promise<void> {
    const registry = createRegistry({ storage: s3Storage({ root: this.data, s3: this.s3Options() }), logger: createLogger('warn') });
    try {
      for (const blob of data.getBlobs.filter((b) => this.sizes.includes(b.size))) {
        await registry.putBlob(blob.repo, Bun.file(blob.file!).stream(), blob.digest);
      }
    } finally {
      await registry.close();
    }
  }

  protected override serveArgs(): string[] {
    return [...super.serveArgs(), '--blobs', `s3://${this.place.bucket}/${this.place.prefix}`, '--s3-endpoint', this.place.endpoint, '--s3-region', this.place.region];
  }

  protected override command(port: number) {
    const { argv } = super.command(port);
    return { argv, env: { AWS_ACCESS_KEY_ID: this.place.accessKeyId, AWS_SECRET_ACCESS_KEY: this.place.secretAccessKey } };
  }

  override forgetBlobs(digests: string[]): void {
    // The interface is synchronous; deletions run in the background and are awaited by settle().
    for (const digest of digests) {
      const done = this.store.api.delete(this.store.blobKey(digest as Parameters<S3BlobStore['blobKey']>[0])).catch(() => {});
      this.deletes.add(done);
      void done.finally(() => this.deletes.delete(done));
    }
  }

  override forgetUploads(): void {
    // Sessions an aborted load left in the bucket are removed by the server's idle purge; nothing on local disk.
  }

  /** Waits for background deletions (before stopping SeaweedFS). */
  async settle(): Promise<void> {
    await Promise.all(this.deletes);
  }
}
