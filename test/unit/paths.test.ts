import { describe, expect, test } from 'bun:test';
import { ERROR_TABLE, RegistryError } from '../../src/errors.ts';
import { matchRoute, splitUrl } from '../../src/http/paths.ts';

const D = `sha256:${'a'.repeat(64)}`;

describe('matchRoute', () => {
  test.each([
    ['/v2/', { kind: 'base' }],
    ['/v2', { kind: 'base' }],
    ['/v2/_catalog', { kind: 'catalog' }],
    ['/v2/a/b/tags/list', { kind: 'tags', name: 'a/b' }],
    ['/v2/a/manifests/latest', { kind: 'manifest', name: 'a', reference: 'latest' }],
    [`/v2/a/blobs/${D}`, { kind: 'blob', name: 'a', digest: D }],
    ['/v2/a/blobs/uploads/', { kind: 'uploads', name: 'a' }],
    ['/v2/a/blobs/uploads', { kind: 'uploads', name: 'a' }],
    ['/v2/a/blobs/uploads/abc', { kind: 'upload', name: 'a', id: 'abc' }],
    [`/v2/a/referrers/${D}`, { kind: 'referrers', name: 'a', digest: D }],
  ])('routes %s', (path, route) => {
    expect(matchRoute(path)).toEqual(route as never);
  });

  test('keeps repository names that contain endpoint words whole', () => {
    expect(matchRoute('/v2/x/blobs/manifests/tags/list')).toEqual({ kind: 'tags', name: 'x/blobs/manifests' });
    expect(matchRoute('/v2/x/manifests/y/manifests/v1')).toEqual({ kind: 'manifest', name: 'x/manifests/y', reference: 'v1' });
    expect(matchRoute(`/v2/x/blobs/y/blobs/${D}`)).toEqual({ kind: 'blob', name: 'x/blobs/y', digest: D });
  });

  test.each(['/', '/v1/', '/v2/a', '/v2/a/tags', '/v2/a/tags/list/', '/v2/a/manifests/', '/v2/a/blobs/', '/v2//tags/list', '/v3/a/tags/list'])(
    'matches nothing for %s',
    (path) => {
      expect(matchRoute(path)).toBeUndefined();
    },
  );

  test('leaves percent-encoding in names for the name check to refuse', () => {
    expect(matchRoute('/v2/a%2Fb/tags/list')).toEqual({ kind: 'tags', name: 'a%2Fb' });
  });
});

describe('splitUrl', () => {
  test('splits path and query without decoding either', () => {
    expect(splitUrl('http://h:1/v2/a%2Fb/tags/list?n=1&last=x')).toEqual({ pathname: '/v2/a%2Fb/tags/list', search: 'n=1&last=x' });
    expect(splitUrl('http://h/v2/')).toEqual({ pathname: '/v2/', search: '' });
    expect(splitUrl('http://h')).toEqual({ pathname: '/', search: '' });
    expect(splitUrl('/v2/?x')).toEqual({ pathname: '/v2/', search: 'x' });
  });
});

describe('RegistryError', () => {
  test('takes status and message from the one table, and keeps overrides', () => {
    const e = new RegistryError('BLOB_UNKNOWN');
    expect(e.status).toBe(404);
    expect(e.message).toBe(ERROR_TABLE.BLOB_UNKNOWN[1]);
    const o = new RegistryError('MANIFEST_INVALID', 'too big', { status: 413, detail: { limit: 1 }, headers: { A: 'b' } });
    expect([o.status, o.message, o.headers]).toEqual([413, 'too big', { A: 'b' }]);
    expect(o.toBody()).toEqual({ errors: [{ code: 'MANIFEST_INVALID', message: 'too big', detail: { limit: 1 } }] });
    expect(e.toBody()).toEqual({ errors: [{ code: 'BLOB_UNKNOWN', message: ERROR_TABLE.BLOB_UNKNOWN[1] }] });
  });

  test('maps the spec codes to their spec statuses', () => {
    const statuses = Object.fromEntries(Object.entries(ERROR_TABLE).map(([code, [status]]) => [code, status]));
    expect(statuses).toEqual({
      BLOB_UNKNOWN: 404, BLOB_UPLOAD_INVALID: 400, BLOB_UPLOAD_UNKNOWN: 404, DIGEST_INVALID: 400, MANIFEST_BLOB_UNKNOWN: 400,
      MANIFEST_INVALID: 400, MANIFEST_UNKNOWN: 404, NAME_INVALID: 400, NAME_UNKNOWN: 404, SIZE_INVALID: 400,
      UNAUTHORIZED: 401, DENIED: 403, UNSUPPORTED: 405, TOOMANYREQUESTS: 429, UNKNOWN: 500,
    });
  });
});
