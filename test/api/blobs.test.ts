/** Blob reads (GET, HEAD, Range) and deletes, and per-repository visibility. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { digestOf } from '../../src/oci/digest.ts';
import { expectError, randomBytes, type Client } from '../helpers/client.ts';
import { openRegistry, type TestRegistry } from '../helpers/registry.ts';

let t: TestRegistry;
let c: Client;
const bytes = randomBytes(2048);
let digest: string;
const path = () => `/v2/blobs/repo/blobs/${digest}`;

beforeAll(async () => {
  t = openRegistry();
  c = t.client;
  digest = await c.pushBlob('blobs/repo', bytes);
});
afterAll(() => t.close());

async function body(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

describe('blob GET and HEAD', () => {
  test('GET returns the exact bytes with Content-Length, octet-stream type and the digest', async () => {
    const res = await c.get(path());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('2048');
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(await body(res)).toEqual(bytes);
  });

  test('HEAD returns the same headers with an exact Content-Length and no body', async () => {
    const res = await c.head(path());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('2048');
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect((await body(res)).byteLength).toBe(0);
  });

  test('never names the file on disk in Content-Disposition', async () => {
    for (const res of [await c.get(path()), await c.head(path())]) {
      const disposition = res.headers.get('content-disposition') ?? '';
      expect(disposition).not.toContain(digest.slice(7));
      expect(disposition).not.toContain('filename');
      await res.arrayBuffer();
    }
  });

  test('serves a zero-byte blob with Content-Length 0 on GET and HEAD', async () => {
    const empty = await c.pushBlob('blobs/repo', new Uint8Array(0));
    for (const method of ['GET', 'HEAD']) {
      const res = await c.send(method, `/v2/blobs/repo/blobs/${empty}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe('0');
      expect(res.headers.get('docker-content-digest')).toBe(empty);
      expect((await body(res)).byteLength).toBe(0);
    }
  });

  test('serves a sha512 blob under its sha512 digest', async () => {
    const data = randomBytes(100);
    const d512 = await c.pushBlob('blobs/repo', data, 'sha512');
    expect(d512.startsWith('sha512:')).toBe(true);
    const res = await c.get(`/v2/blobs/repo/blobs/${d512}`);
    expect(res.headers.get('docker-content-digest')).toBe(d512);
    expect(await body(res)).toEqual(data);
    // The same bytes are not visible under their sha256 digest: nothing was pushed under it.
    await expectError(await c.get(`/v2/blobs/repo/blobs/${digestOf(data)}`), 404, 'BLOB_UNKNOWN');
  });

  test('answers a blob that was never pushed with 404 BLOB_UNKNOWN', async () => {
    await expectError(await c.get(`/v2/blobs/repo/blobs/${digestOf('never')}`), 404, 'BLOB_UNKNOWN');
    const head = await c.head(`/v2/blobs/repo/blobs/${digestOf('never')}`);
    expect(head.status).toBe(404);
  });

  test('answers a malformed digest with 400 DIGEST_INVALID', async () => {
    for (const bad of ['sha256:xyz', 'sha256', `md5:${'a'.repeat(32)}`, `sha256:${'A'.repeat(64)}`]) {
      await expectError(await c.get(`/v2/blobs/repo/blobs/${bad}`), 400, 'DIGEST_INVALID');
    }
  });
});

describe('blob Range reads', () => {
  test.each([
    ['bytes=500-1499', 500, 1499],
    ['bytes=500-', 500, 2047],
    ['bytes=-500', 1548, 2047],
    ['bytes=2000-5000', 2000, 2047],
    ['bytes=0-0', 0, 0],
  ])('answers %s with 206, the exact slice, Content-Length and Content-Range', async (range, start, end) => {
    const res = await c.get(path(), { range });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/2048`);
    expect(res.headers.get('content-length')).toBe(String(end - start + 1));
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(await body(res)).toEqual(bytes.slice(start, end + 1));
  });

  test.each(['bytes=500-0', 'bytes=5000-10000', 'bytes=2048-', 'bytes=-0'])(
    'answers the unsatisfiable %s with 416 and Content-Range bytes */size',
    async (range) => {
      const res = await c.get(path(), { range });
      expect(res.headers.get('content-range')).toBe('bytes */2048');
      await expectError(res, 416, 'SIZE_INVALID');
    },
  );

  test('answers a multi-range request with the whole blob (200)', async () => {
    const res = await c.get(path(), { range: 'bytes=0-1,5-6' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-range')).toBeNull();
    expect(await body(res)).toEqual(bytes);
  });

  test('ignores a Range in another unit', async () => {
    const res = await c.get(path(), { range: 'items=0-1' });
    expect(res.status).toBe(200);
    expect((await body(res)).byteLength).toBe(2048);
  });

  test('answers HEAD with the whole size even when a Range is sent', async () => {
    const res = await c.head(path(), { range: 'bytes=0-9' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('2048');
  });
});

describe('per-repository visibility', () => {
  test('a blob pushed to one repository is invisible in another', async () => {
    const data = randomBytes(32);
    const d = await c.pushBlob('vis/a', data);
    expect((await c.head(`/v2/vis/a/blobs/${d}`)).status).toBe(200);
    await expectError(await c.get(`/v2/vis/b/blobs/${d}`), 404, 'BLOB_UNKNOWN');
    expect((await c.head(`/v2/vis/b/blobs/${d}`)).status).toBe(404);
  });

  test('a repository whose name prefixes another does not see its blobs', async () => {
    const d = await c.pushBlob('vis/prefix-long', randomBytes(16));
    expect((await c.head(`/v2/vis/prefix/blobs/${d}`)).status).toBe(404);
    expect((await c.head(`/v2/vis/prefix-long/blobs/${d}`)).status).toBe(200);
  });
});

describe('blob DELETE', () => {
  test('answers 202, after which HEAD and GET are 404 in that repository', async () => {
    const d = await c.pushBlob('del/a', randomBytes(40));
    const res = await c.delete(`/v2/del/a/blobs/${d}`);
    expect(res.status).toBe(202);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect((await c.head(`/v2/del/a/blobs/${d}`)).status).toBe(404);
    await expectError(await c.get(`/v2/del/a/blobs/${d}`), 404, 'BLOB_UNKNOWN');
  });

  test('in repository A keeps the blob readable in repository B', async () => {
    const data = randomBytes(48);
    const d = await c.pushBlob('del/a', data);
    await c.pushBlob('del/b', data);
    expect((await c.delete(`/v2/del/a/blobs/${d}`)).status).toBe(202);
    expect((await c.head(`/v2/del/a/blobs/${d}`)).status).toBe(404);
    const res = await c.get(`/v2/del/b/blobs/${d}`);
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual(data);
    expect((await c.delete(`/v2/del/b/blobs/${d}`)).status).toBe(202);
    expect((await c.head(`/v2/del/b/blobs/${d}`)).status).toBe(404);
  });

  test('answers a second delete, or a delete in a repository that never had the blob, with 404 BLOB_UNKNOWN', async () => {
    const d = await c.pushBlob('del/a', randomBytes(12));
    expect((await c.delete(`/v2/del/a/blobs/${d}`)).status).toBe(202);
    await expectError(await c.delete(`/v2/del/a/blobs/${d}`), 404, 'BLOB_UNKNOWN');
    await expectError(await c.delete(`/v2/del/never/blobs/${d}`), 404, 'BLOB_UNKNOWN');
  });

  test('answers a malformed digest with 400 DIGEST_INVALID', async () => {
    await expectError(await c.delete('/v2/del/a/blobs/sha256:nope'), 400, 'DIGEST_INVALID');
  });

  test('lets the same content be pushed again after its last link was deleted', async () => {
    const data = randomBytes(20);
    const d = await c.pushBlob('del/again', data);
    expect((await c.delete(`/v2/del/again/blobs/${d}`)).status).toBe(202);
    await c.pushBlob('del/again', data);
    expect(await body(await c.get(`/v2/del/again/blobs/${d}`))).toEqual(data);
  });
});

describe('blob sizes kept in links', () => {
  test('a pushed blob is served by the size its link recorded; a link made without one learns it on the first GET', async () => {
    const r = openRegistry();
    try {
      const index = r.registry.storage.index;
      const small = randomBytes(100);
      const pushed = digestOf(small);
      await r.client.pushBlob('sizes/repo', small);
      expect((await index.blobLink('sizes/repo', pushed))).toEqual({ size: 100 });
      // A link as an older store (or a tool that places files itself) has it: no size.
      const big = randomBytes(70_000);
      const placed = digestOf(big);
      await r.registry.storage.blobs.put(placed, big);
      await index.linkBlob('sizes/repo', placed);
      expect((await index.blobLink('sizes/repo', placed))?.size).toBeUndefined();
      for (let read = 0; read < 2; read++) {
        const res = await r.client.get(`/v2/sizes/repo/blobs/${placed}`);
        expect(res.headers.get('content-length')).toBe('70000');
        expect(await body(res)).toEqual(big as Uint8Array<ArrayBuffer>);
        const again = await r.client.get(`/v2/sizes/repo/blobs/${pushed}`);
        expect(await body(again)).toEqual(small as Uint8Array<ArrayBuffer>);
      }
      for (let i = 0; i < 50 && (await index.blobLink('sizes/repo', placed))?.size === undefined; i++) await Bun.sleep(10);
      expect((await index.blobLink('sizes/repo', placed))).toEqual({ size: 70_000 });
    } finally {
      await r.close();
    }
  });
});
