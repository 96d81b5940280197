/** One upload session of the filesystem blob store: a partial file in `uploads/` and its running hashes. */
import * as fs from 'node:fs';
import { crashPoint } from '../crash-points.ts';
import { RegistryError } from '../errors.ts';
import { digestAlgorithm, type Digest } from '../oci/digest.ts';
import type { FsBlobStore } from './fs-blob-store.ts';
import { fsync, isNotFound } from './fs-sync.ts';
import { hashBlob, type MultiHasher } from './hashing.ts';
import { pumpBody } from './stream-writer.ts';
import type { BlobInfo, UploadSession } from './types.ts';

/** One upload on disk. Appends are atomic: a failed append truncates back and restores the hash state. */
export class FsUploadSession implements UploadSession {
  private finished = false;

  constructor(
    private readonly store: FsBlobStore,
    readonly id: string,
    private readonly file: string,
    private bytes: number,
    private hasher: MultiHasher,
  ) {}

  get size(): number {
    return this.bytes;
  }

  async append(body: ReadableStream<Uint8Array> | Uint8Array, expectedLength?: number): Promise<number> {
    this.assertOpen();
    const before = this.bytes;
    const saved = this.hasher.snapshot();
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r+');
    } catch (e) {
      if (isNotFound(e)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN');
      throw e;
    }
    let position = before;
    try {
      // Synchronous positional writes land in the page cache at memory speed and keep the bytes in order.
      await pumpBody(body, expectedLength, (chunk) => {
        let off = 0;
        while (off < chunk.byteLength) off += fs.writeSync(fd, chunk, off, chunk.byteLength - off, position + off);
        position += chunk.byteLength;
        this.hasher.update(chunk);
      });
      this.bytes = position;
      crashPoint('upload-after-write');
      return this.bytes;
    } catch (e) {
      // Roll back to the last complete chunk; shrinking a file needs no new space, so this works on a full disk too.
      fs.ftruncateSync(fd, before);
      this.hasher = saved;
      this.bytes = before;
      throw e;
    } finally {
      fs.closeSync(fd);
    }
  }

  async commit(expected: Digest): Promise<BlobInfo> {
    this.assertOpen();
    const algorithm = digestAlgorithm(expected);
    const actual = this.hasher.digest(algorithm) ?? (await hashBlob(Bun.file(this.file), algorithm));
    if (actual !== expected) {
      throw new RegistryError('DIGEST_INVALID', undefined, { detail: { expected, actual } });
    }
    if (this.store.durable) {
      const fd = fs.openSync(this.file, 'r');
      try {
        await fsync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    this.finished = true;
    this.store.release(this.id);
    return this.store.publish(this.file, expected, this.bytes);
  }

  async cancel(): Promise<void> {
    this.finished = true;
    this.store.release(this.id);
    await fs.promises.rm(this.file, { force: true });
  }

  private assertOpen(): void {
    if (this.finished) throw new RegistryError('BLOB_UPLOAD_UNKNOWN');
  }
}
