/** The "Bun limit" target: bench/targets/limit-server.ts seeded with the pulled blobs and the pulled manifest. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataSet } from '../data/dataset.ts';
import { emptyDir } from './marina.ts';
import { ProcessTarget, type TargetEnv } from './process-target.ts';
import type { Feature } from './types.ts';

/** The minimal Bun.serve registry (the ceiling for blob GET, manifest GET/HEAD and push). */
export class BunLimitTarget extends ProcessTarget {
  readonly id = 'limit';
  readonly label = 'Bun limit';
  readonly role = 'limit' as const;
  readonly version = `Bun ${Bun.version}`;
  // No tags, referrers or index: those have no meaningful "minimal" form.
  readonly features: ReadonlySet<Feature> = new Set<Feature>(['blob-get', 'range', 'manifest', 'push', 'image-push', 'cold-start']);

  constructor(env: TargetEnv) {
    super(env);
    this.notes.push('Bun.file for blobs, an in-memory Map for manifests; uploads: stream, hash, write, fsync, rename (no directory fsync)');
  }

  async seed(data: DataSet): Promise<void> {
    const blobs = path.join(this.dir, 'blobs');
    fs.mkdirSync(blobs, { recursive: true });
    for (const blob of data.getBlobs) {
      const target = path.join(blobs, blob.digest.slice(7));
      fs.rmSync(target, { force: true });
      fs.linkSync(blob.file!, target);
    }
    const app = data.manifests.find((m) => m.digest === data.app.digest)!;
    const list = [{ repo: app.repo, tags: app.tags, digest: app.digest, mediaType: app.mediaType, base64: Buffer.from(app.bytes).toString('base64') }];
    fs.writeFileSync(path.join(this.dir, 'manifests.json'), JSON.stringify(list));
  }

  protected command(port: number) {
    return { argv: [process.execPath, path.join(import.meta.dir, 'limit-server.ts'), '--port', String(port), '--dir', this.dir] };
  }

  forgetBlobs(digests: string[]): void {
    for (const d of digests) fs.rmSync(path.join(this.dir, 'blobs', d.slice(7)), { force: true });
  }

  forgetUploads(): void {
    emptyDir(path.join(this.dir, 'uploads'));
  }
}
