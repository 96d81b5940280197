/**
 * When each tag and manifest was last pushed. The metadata index keeps no such times, so this small bookkeeping
 * store (bun:sqlite, `lifecycle.sqlite` beside the index) records them from the manifest hooks. A tag or manifest
 * it has never heard of (pushed before this store existed, or lost to a crash between the index commit and this
 * write) is recorded as pushed when first asked about: retention then treats it as new, never as old.
 */
import type { Database, Statement } from 'bun:sqlite';
import type { Digest } from '../oci/digest.ts';
import { openSqlite } from '../storage/sqlite.ts';

/** Push times of tags and manifests. */
export class PushTimes {
  private readonly db: Database;
  private readonly putTag: Statement;
  private readonly putManifest: Statement;
  private readonly getTag: Statement<{ digest: string; at: number }>;
  private readonly getManifest: Statement<{ at: number }>;
  private readonly dropTag: Statement;
  private readonly dropManifest: Statement;
  private readonly dropTagsOf: Statement;

  /** Opens (creating) the store; `now` is the clock (injected by tests). */
  constructor(file: string, readonly now: () => number = Date.now) {
    this.db = openSqlite(file);
    this.db.run('CREATE TABLE IF NOT EXISTS tag_times (repository TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (repository, tag)) WITHOUT ROWID');
    this.db.run('CREATE TABLE IF NOT EXISTS manifest_times (repository TEXT NOT NULL, digest TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (repository, digest)) WITHOUT ROWID');
    this.putTag = this.db.prepare('INSERT OR REPLACE INTO tag_times (repository, tag, digest, at) VALUES (?, ?, ?, ?)');
    this.putManifest = this.db.prepare('INSERT OR REPLACE INTO manifest_times (repository, digest, at) VALUES (?, ?, ?)');
    this.getTag = this.db.prepare('SELECT digest, at FROM tag_times WHERE repository = ? AND tag = ?');
    this.getManifest = this.db.prepare('SELECT at FROM manifest_times WHERE repository = ? AND digest = ?');
    this.dropTag = this.db.prepare('DELETE FROM tag_times WHERE repository = ? AND tag = ?');
    this.dropManifest = this.db.prepare('DELETE FROM manifest_times WHERE repository = ? AND digest = ?');
    this.dropTagsOf = this.db.prepare('DELETE FROM tag_times WHERE repository = ? AND digest = ?');
  }

  /** Records a push of `digest` under `tags`. */
  pushed(repository: string, digest: Digest, tags: readonly string[]): void {
    const at = this.now();
    this.db.transaction(() => {
      this.putManifest.run(repository, digest, at);
      for (const tag of tags) this.putTag.run(repository, tag, digest, at);
    })();
  }

  /** When `tag` last moved to `digest` (recording now when unknown or pointing elsewhere). */
  tagTime(repository: string, tag: string, digest: Digest): number {
    const row = this.getTag.get(repository, tag);
    if (row && row.digest === digest) return row.at;
    const at = this.now();
    this.putTag.run(repository, tag, digest, at);
    return at;
  }

  /** When `digest` was last pushed into `repository` (recording now when unknown). */
  manifestTime(repository: string, digest: Digest): number {
    const row = this.getManifest.get(repository, digest);
    if (row) return row.at;
    const at = this.now();
    this.putManifest.run(repository, digest, at);
    return at;
  }

  /** Forgets a deleted tag, or a deleted manifest and its tags. */
  deleted(repository: string, kind: 'tag' | 'manifest', reference: string, digest: Digest | undefined): void {
    if (kind === 'tag') this.dropTag.run(repository, reference);
    else if (digest) {
      this.dropManifest.run(repository, digest);
      this.dropTagsOf.run(repository, digest);
    }
  }

  close(): void {
    this.db.close();
  }
}
