/** The one mapping from storage failures (full disk, quota, LMDB, SQLite, S3) to client-facing errors. */
import { describe, expect, test } from 'bun:test';
import { knownError, RegistryError, storageFailure } from '../../src/errors.ts';
import { rethrowCommitFailure } from '../../src/storage/lmdb-errors.ts';
import { S3RequestError } from '../../src/storage/s3-api.ts';

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

  test('maps an S3 store that is full to 507 and one that fails, throttles or cannot be reached to 503 with Retry-After', () => {
    const s3 = (code: string) => Object.assign(new Error('We encountered an internal error, please try again.'), { name: 'S3Error', code });
    const full = storageFailure(s3('XMinioStorageFull'))!;
    expect(full.status).toBe(507);
    expect(full.code).toBe('UNKNOWN');
    expect(full.toBody().errors[0]!.detail).toEqual({ reason: 'object storage full', s3Code: 'XMinioStorageFull' });
    for (const code of ['InternalError', 'SlowDown', 'ServiceUnavailable', 'ConnectionRefused']) {
      const mapped = storageFailure(s3(code))!;
      expect(mapped.status).toBe(503);
      expect(mapped.headers).toEqual({ 'Retry-After': '10' });
      expect(mapped.message).toBe('the object storage (S3) failed or refused the request; nothing was stored, retry later');
      expect(mapped.toBody().errors[0]!.detail).toEqual({ reason: 'object storage unavailable', s3Code: code });
    }
    // The blob store's own multipart calls: S3's HTTP status decides; a failure it wraps is found in the cause chain.
    const part = new S3RequestError('UploadPart k #3: 500 InternalError We encountered an internal error', 500, 'InternalError');
    expect(storageFailure(new Error('append failed', { cause: part }))!.status).toBe(503);
    expect(storageFailure(new S3RequestError('PUT /b/k: connect ECONNREFUSED', 503))!.status).toBe(503);
    expect(storageFailure(new S3RequestError('PUT /b/k', 507))!.status).toBe(507);
  });

  test('leaves S3 errors that mean Marina asked wrongly (denied, bad part) as unexpected 500s, and hides S3 text', () => {
    expect(storageFailure(Object.assign(new Error('Access Denied'), { name: 'S3Error', code: 'AccessDenied' }))).toBeUndefined();
    expect(storageFailure(new S3RequestError('Complete k: 400 InvalidPart', 400, 'InvalidPart'))).toBeUndefined();
    const odd = storageFailure(Object.assign(new Error('bucket secret-name key x'), { name: 'S3Error', code: 'InternalError<script>' }));
    expect(odd).toBeUndefined();
    const mapped = storageFailure(Object.assign(new Error('bucket secret-name key x'), { name: 'S3Error', code: 'InternalError' }))!;
    expect(JSON.stringify(mapped.toBody())).not.toContain('secret-name');
  });

  test('leaves other failures alone (a 500 whose cause is logged) and registry errors as they are', () => {
    expect(storageFailure(new Error('boom'))).toBeUndefined();
    expect(storageFailure(errno('EACCES: permission denied', 'EACCES'))).toBeUndefined();
    expect(storageFailure('ENOSPC')).toBeUndefined();
    const own = new RegistryError('BLOB_UNKNOWN');
    expect(knownError(own)).toBe(own);
  });
});
