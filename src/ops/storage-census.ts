/**
 * Counts of what the store holds (repositories, manifests, tags, blobs, blob bytes) for the metrics. Counting is a
 * walk of the index and the blob store, so a scrape never runs it inline on a big store: it starts at most once
 * per `intervalSeconds`, in the background, yielding to requests every few hundred entries, and scrapes report the
 * last finished count with its timestamp. `intervalSeconds: 0` counts on every scrape and waits (tests, tiny stores).
 */
import { Gauge } from './prom.ts';
import type { Registry as PromRegistry } from './prom.ts';
import type { Storage } from '../storage/storage.ts';

/** One finished count. */
export interface CensusResult {
  repositories: number;
  manifests: number;
  tags: number;
  blobs: number;
  blobBytes: number;
  /** When it finished (ms since the epoch). */
  at: number;
  /** How long it took (ms). */
  ms: number;
}

const PAGE = 1000;
const YIELD_EVERY = 500;

/** Periodic, bounded-rate counting of a store's contents. */
export class StorageCensus {
  private last: CensusResult | undefined;
  private running: Promise<CensusResult> | undefined;
  private startedAt = 0;

  constructor(
    private readonly storage: Pick<Storage, 'blobs' | 'index'>,
    private intervalSeconds: number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Changes the interval (live reload). */
  setInterval(seconds: number): void {
    this.intervalSeconds = seconds;
  }

  /** The latest count, starting a new one when the last is older than the interval. */
  async current(): Promise<CensusResult | undefined> {
    const due = !this.running && Date.now() - this.startedAt >= this.intervalSeconds * 1000;
    if (due) this.start();
    if (this.intervalSeconds === 0 || !this.last) await this.running?.catch(() => undefined);
    return this.last;
  }

  /** Adds the census gauges to a prom-client registry; one count serves all of them per scrape. */
  register(registers: PromRegistry[]): void {
    let pending: Promise<CensusResult | undefined> | undefined;
    // Every gauge's collect runs in the same scrape; they share one `current()` call.
    const read = () => {
      pending ??= this.current().finally(() => queueMicrotask(() => (pending = undefined)));
      return pending;
    };
    const gauge = (name: string, help: string, pick: (r: CensusResult) => number) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const r = await read();
          if (r) this.set(pick(r));
        },
      });
    gauge('marina_storage_repositories', 'Repositories in the index (as of the last census)', (r) => r.repositories);
    gauge('marina_storage_manifests', 'Manifests stored, counted per repository (as of the last census)', (r) => r.manifests);
    gauge('marina_storage_tags', 'Tags (as of the last census)', (r) => r.tags);
    gauge('marina_storage_blobs', 'Blob files in the blob store (as of the last census)', (r) => r.blobs);
    gauge('marina_storage_blob_bytes', 'Bytes of blob files in the blob store (as of the last census)', (r) => r.blobBytes);
    gauge('marina_storage_census_timestamp_seconds', 'When the last storage census finished', (r) => r.at / 1000);
    gauge('marina_storage_census_duration_seconds', 'How long the last storage census took', (r) => r.ms / 1000);
  }

  private start(): void {
    this.startedAt = Date.now();
    this.running = this.count()
      .then((r) => (this.last = r))
      .catch((error) => {
        this.onError(error);
        throw error;
      })
      .finally(() => (this.running = undefined));
    this.running.catch(() => undefined);
  }

  private async count(): Promise<CensusResult> {
    const began = Date.now();
    const { index, blobs } = this.storage;
    const r: CensusResult = { repositories: 0, manifests: 0, tags: 0, blobs: 0, blobBytes: 0, at: 0, ms: 0 };
    let work = 0;
    const breathe = async () => {
      if (++work % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    };
    let last: string | undefined;
    for (;;) {
      const page = await index.listRepositories({ last, limit: PAGE });
      for (const repository of page.items) {
        r.repositories++;
        r.manifests += (await index.listManifestDigests(repository)).length;
        let tagsAfter: string | undefined;
        for (;;) {
          const tags = await index.listTags(repository, { last: tagsAfter, limit: PAGE });
          r.tags += tags.items.length;
          if (!tags.more) break;
          tagsAfter = tags.items[tags.items.length - 1];
          await breathe();
        }
        await breathe();
      }
      if (!page.more) break;
      last = page.items[page.items.length - 1];
    }
    for await (const digest of blobs.list()) {
      const info = await blobs.stat(digest);
      if (info) {
        r.blobs++;
        r.blobBytes += info.size;
      }
      await breathe();
    }
    r.at = Date.now();
    r.ms = r.at - began;
    return r;
  }
}
