/**
 * Keeping the mirror cache within its byte budget: above the high watermark, least recently used images are evicted
 * whole (manifest, then each blob no other cached image of the repository uses) until the cache is below the low
 * watermark. A blob is deleted from the store only when no repository links it any more, so a blob that pushed
 * local content (or another mirrored repository) uses stays.
 */
import { deleteUnlinkedBlob } from '../core/blob-lifecycle.ts';
import type { CoreContext } from '../core/context.ts';
import type { Logger } from '../logger.ts';
import type { Digest } from '../oci/digest.ts';
import type { MirrorLedger } from './ledger.ts';
import type { MirrorOptions } from './options.ts';

/** Budget enforcement over a mirror's ledger and stores. */
export class Eviction {
  private running: Promise<void> | undefined;

  constructor(
    private readonly core: CoreContext,
    private readonly ledger: MirrorLedger,
    private readonly options: MirrorOptions,
    private readonly logger: Logger,
    private readonly onImageEvicted: () => void,
  ) {}

  /** Starts a background eviction when the cache is over its high watermark (and none is running). */
  schedule(): void {
    const max = this.options.cacheMaxBytes;
    if (max === undefined || this.running) return;
    this.running = this.evictIfOver(max)
      .catch((error) => this.logger.error('cache eviction failed', { error }))
      .finally(() => (this.running = undefined));
  }

  private async evictIfOver(max: number): Promise<void> {
    if ((await this.ledger.totalBytes()) <= max * (this.options.highWatermark ?? 0.95)) return;
    const { images, bytes } = await this.evict(max * (this.options.lowWatermark ?? 0.8));
    this.logger.info('cache eviction', { images, bytes, cacheBytes: await this.ledger.totalBytes() });
  }

  /** Resolves once no eviction is running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Evicts least recently used images (and then lone blobs) until the cache is below `targetBytes`. */
  async evict(targetBytes: number, onProgress?: (message: string) => void): Promise<{ images: number; bytes: number }> {
    const before = await this.ledger.totalBytes();
    let images = 0;
    while ((await this.ledger.totalBytes()) > targetBytes) {
      const [oldest] = await this.ledger.leastRecentlyUsed(1);
      if (oldest) {
        await this.dropImage(oldest.repository, oldest.digest as Digest);
        images++;
        this.onImageEvicted();
        onProgress?.(`evicted ${oldest.repository}@${oldest.digest}`);
        continue;
      }
      const [blob] = await this.ledger.orphanBlobs(1);
      if (!blob) break;
      await this.dropBlob(blob.repository, blob.digest as Digest);
      onProgress?.(`evicted blob ${blob.repository}@${blob.digest}`);
    }
    return { images, bytes: before - (await this.ledger.totalBytes()) };
  }

  private async dropImage(repository: string, digest: Digest): Promise<void> {
    await this.core.index.deleteManifest(repository, digest);
    const freed = await this.ledger.removeImage(repository, digest);
    // In an overlay, manifests pushed here may use the same blobs, and the ledger does not know them: the links
    // stay (the bytes are then kept too), so eviction can never break pushed content.
    if (this.isOverlay(repository)) return;
    for (const { digest: blob } of freed) await this.unlink(repository, blob as Digest);
  }

  private async dropBlob(repository: string, digest: Digest): Promise<void> {
    await this.ledger.removeBlob(repository, digest);
    if (!this.isOverlay(repository)) await this.unlink(repository, digest);
  }

  private isOverlay(repository: string): boolean {
    return this.options.upstreams.some((u) => u.overlay && repository.startsWith(`${u.name}/`));
  }

  private async unlink(repository: string, digest: Digest): Promise<void> {
    await this.core.index.unlinkBlob(repository, digest);
    // Under a deletion claim: a push or fill of the same content in any process (a server beside
    // `marina cache prune`) holds the blob, and then the file stays.
    await deleteUnlinkedBlob(this.core, digest);
  }
}
