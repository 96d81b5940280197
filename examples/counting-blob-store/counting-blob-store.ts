/** A BlobStore wrapper that counts the bytes it serves: how an application adds behaviour to any store. */
import type { BlobInfo, BlobStore, Digest, DigestAlgorithm, UploadSession } from '../../src/index.ts';

/** Wraps `inner`, counting blobs opened and bytes handed out. */
export class CountingBlobStore implements BlobStore {
  bytesServed = 0;
  blobsServed = 0;

  constructor(private readonly inner: BlobStore) {}

  stat(digest: Digest): Promise<BlobInfo | undefined> {
    return this.inner.stat(digest);
  }
  async open(digest: Digest): Promise<Blob | undefined> {
    const blob = await this.inner.open(digest);
    if (blob) {
      this.blobsServed++;
      this.bytesServed += blob.size;
    }
    return blob;
  }
  put(digest: Digest, bytes: Uint8Array): Promise<BlobInfo> {
    return this.inner.put(digest, bytes);
  }
  startUpload(options?: { algorithms?: DigestAlgorithm[] }): Promise<UploadSession> {
    return this.inner.startUpload(options);
  }
  resumeUpload(id: string): Promise<UploadSession | undefined> {
    return this.inner.resumeUpload(id);
  }
  delete(digest: Digest): Promise<boolean> {
    return this.inner.delete(digest);
  }
  list(): AsyncIterable<Digest> {
    return this.inner.list();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
