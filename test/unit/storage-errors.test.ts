/** The one mapping from storage failures (full disk, quota, LMDB, SQLite) to client-facing errors. */
import { describe, expect, test } from 'bun:test';
import { knownError, RegistryError, storageFailure } from '../../src/errors.ts';
import { rethrowCommitFailure } from '../../src/storage/lmdb-errors.ts';

function errno(message: string, code: string | number): Error {
  return Object.assign(new Error(message), { code });
}

describe('storageFailure', () => {
  test('maps a full disk, an exhausted quota and a full SQLite file to 507 with code UNKNOWN and a clear message', () => {
    for (const e of [errno('ENOSPC: no space left on device, write', 'ENOSPC'), errno('EDQUOT: disk quota exceeded', 'EDQUOT'), errno('database or disk is full', 'SQLITE_FULL')]) {
      const mapped = storageFailure(e)!;
      expect(mapped.status).toBe(507);
      expect(mapped.code).toBe('UNKNOWN');
      expect(mapped.message).toContain('insufficient storage');
      expect(mapped.toBody().errors[0]!.detail).toEqual({ reason: 'storage full' });
    }
  });

  test('maps LMDB map-full to 507 naming the index', () => {
    const mapped = storageFailure(errno('MDB_MAP_FULL: Environment mapsize limit reached', -30792))!;
    expect(mapped.status).toBe(507);
    expect(mapped.message).toContain('metadata index is full');
  });

  test('finds the cause of a failed LMDB commit: ENOSPC answers 507, an I/O error 503 with Retry-After', async () => {
    const failed = (cause: Error) => Object.assign(new Error('Commit failed (see commitError for details)'), { commitError: Promise.reject(cause) });
    const full = await rethrowCommitFailure(failed(errno('No space left on device: Attempting to write page', 28))).catch((e) => e);
    expect(storageFailure(full)!.status).toBe(507);
    const io = await rethrowCommitFailure(failed(errno('Input/output error', 5))).catch((e) => e);
    const mapped = storageFailure(io)!;
    expect(mapped.status).toBe(503);
    expect(mapped.headers).toEqual({ 'Retry-After': '10' });
    expect(mapped.message).toContain('could not commit');
  });

  test('gives up waiting for a commit cause that never settles, and still answers 503', async () => {
    const hung = Object.assign(new Error('Commit failed (see commitError for details)'), { commitError: new Promise(() => {}) });
    const started = Date.now();
    const e = await rethrowCommitFailure(hung, 50).catch((x) => x);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(storageFailure(e)!.status).toBe(503);
  });

  test('leaves other failures alone (a 500 whose cause is logged) and registry errors as they are', () => {
    expect(storageFailure(new Error('boom'))).toBeUndefined();
    expect(storageFailure(errno('EACCES: permission denied', 'EACCES'))).toBeUndefined();
    expect(storageFailure('ENOSPC')).toBeUndefined();
    const own = new RegistryError('BLOB_UNKNOWN');
    expect(knownError(own)).toBe(own);
  });
});
