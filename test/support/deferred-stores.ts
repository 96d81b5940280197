/**
 * Stores that answer later: wraps an embedded store (LMDB, SQLite, memory) so that the named methods return promises
 * settled on a later tick, as a network store (PostgreSQL) would. Running the contract suites and the API tests on
 * them proves that every caller awaits what the contracts allow to be a promise.
 * `MARINA_TEST_DEFERRED_STORES=1 bun test test/api` runs the API tests this way (see test/helpers/registry.ts).
 */
import type { MirrorLedger } from '../../src/storage/mirror-ledger.ts';
import type { MetadataIndex, UploadLedger } from '../../src/storage/types.ts';

/** The MetadataIndex reads that may answer with a promise. */
export const INDEX_READS = [
  'hasBlob', 'blobLink', 'repositoryGeneration', 'findBlobRepository', 'isBlobLinkedAnywhere', 'listBlobLinks',
  'listManifestDigests', 'getManifest', 'resolveTag', 'listTags', 'tagsOf', 'listReferrers', 'hasRepository', 'listRepositories',
] as const satisfies readonly (keyof MetadataIndex)[];

/** Every UploadLedger method. */
export const UPLOAD_LEDGER_METHODS = ['add', 'get', 'touch', 'remove', 'idleSince', 'count', 'close'] as const satisfies readonly (keyof UploadLedger)[];

/** Every MirrorLedger method. */
export const MIRROR_LEDGER_METHODS = [
  'tag', 'setTag', 'addImage', 'hasImage', 'touchImage', 'addBlob', 'touchBlob', 'totalBytes', 'leastRecentlyUsed',
  'allImages', 'removeImage', 'orphanBlobs', 'removeBlob', 'close',
] as const satisfies readonly (keyof MirrorLedger)[];

/**
 * `target` with `methods` answering on a later tick (a throw becomes a rejection); every other member is the
 * target's own. `instanceof` still sees the target's class.
 */
export function deferred<T extends object>(target: T, methods: readonly string[]): T {
  const later = new Set(methods);
  return new Proxy(target, {
    get(t, prop) {
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (typeof prop !== 'string' || !later.has(prop)) return fn.bind(t);
      return (...args: unknown[]) => new Promise((resolve) => setImmediate(resolve)).then(() => fn.apply(t, args));
    },
  });
}

/** True when the API tests should run on deferred stores. */
export const deferStores = process.env.MARINA_TEST_DEFERRED_STORES === '1';
