/**
 * In-process registries for API tests: a fresh data directory per registry, `registry.fetch` as the transport,
 * and cleanup that closes the stores and removes the directory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../../src/logger.ts';
import type { RegistryOptions } from '../../src/options.ts';
import { createRegistry, type Registry } from '../../src/registry.ts';
import { fsStorage, type Storage } from '../../src/storage/storage.ts';
import { deferStores, deferred, INDEX_READS, UPLOAD_LEDGER_METHODS } from '../support/deferred-stores.ts';
import { Client } from './client.ts';

/** A registry on a temporary data directory, with a client bound to it. */
export interface TestRegistry {
  registry: Registry;
  client: Client;
  /** The data directory. */
  root: string;
  /** Closes the registry; removes the data directory unless `keepData`. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

/** The stores of a test registry: fs + LMDB, with reads answering later under MARINA_TEST_DEFERRED_STORES=1. */
export function testStorage(root: string): Storage {
  const storage = fsStorage({ root, sync: false });
  if (!deferStores) return storage;
  return { ...storage, index: deferred(storage.index, INDEX_READS), ledger: deferred(storage.ledger, UPLOAD_LEDGER_METHODS) };
}

/** A fresh temporary directory under the OS temp dir. */
export function tempDir(prefix = 'marina-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Opens a registry (fsync off, logs silent) on `root`, or on a new temporary directory. */
export function openRegistry(options: Omit<RegistryOptions, 'storage'> = {}, root = tempDir()): TestRegistry {
  const registry = createRegistry({ logger: createLogger('silent'), ...options, storage: testStorage(root) });
  let closed = false;
  return {
    registry,
    client: new Client((request) => registry.fetch(request)),
    root,
    async close({ keepData = false } = {}) {
      if (!closed) await registry.close();
      closed = true;
      if (!keepData) fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
