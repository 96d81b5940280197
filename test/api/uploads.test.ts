/** Blob uploads: every push style, resumption state, cancel, digests, and every way a client can get it wrong. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { digestOf } from '../../src/oci/digest.ts';
import { expectError, randomBytes, streamOf, type Client } from '../helpers/client.ts';
import { openRegistry, tempDir, type TestRegistry } from '../helpers/registry.ts';

let t: TestRegistry;
let c: Client;
const R = 'up/repo';

beforeAll(() => {
  t = openRegistry();
  c = t.client;
});
afterAll(() => t.close());

async function expectBlob(repo: string, digest: string, bytes: Uint8Array): Promise<void> {
  const res = await c.get(`/v2/${repo}/blobs/${digest}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('docker-content-digest')).toBe(digest);
  expect(new Uint8Array(await res.arrayBuffer()) as Uint8Array).toEqual(bytes);
}

async function expectInvisible(repo: string, ...digests: string[]): Promise<void> {
  for (const d of digests) expect({ d, status: (await c.head(`/v2/${repo}/blobs/${d}`)).status }).toEqual({ d, status: 404 });
}

/** Asserts an upload session state: GET → 204 with Range and Location. */
async function expectStatus(location: string, size: number): Promise<void> {
  const res = await c.get(location);
  expect(res.status).toBe(204);
  expect(res.headers.get('range')).toBe(`0-${Math.max(size - 1, 0)}`);
  expect(res.headers.get('content-length')).toBe('0');
  expect(c.url(res.headers.get('location')!)).toBe(location);
}

function patch(location: string, chunk: Uint8Array, start?: number, headers: Record<string, string> = {}): Promise<Response> {
  const h: Record<string, string> = { 'content-type': 'application/octet-stream', ...headers };
  if (start !== undefined) h['content-range'] = `${start}-${start + chunk.byteLength - 1}`;
  return c.send('PATCH', location, { body: chunk, headers: h });
}

function put(location: string, digest: string, body?: Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  const sep = location.includes('?') ? '&' : '?';
  return c.send('PUT', `${location}${sep}digest=${digest}`, { body, headers: { 'content-type': 'application/octet-stream', ...headers } });
}

async function expectCreated(res: Response, repo: string, digest: string): Promise<void> {
  expect({ status: res.status, body: await res.text() }).toEqual({ status: 201, body: '' });
  expect(res.headers.get('location')).toBe(`/v2/${repo}/blobs/${digest}`);
  expect(res.headers.get('docker-content-digest')).toBe(digest);
}

describe('monolithic POST', () => {
  test('stores the body in one request: 201, Location, Docker-Content-Digest', async () => {
    const data = randomBytes(512);
    const digest = digestOf(data);
    const res = await c.send('POST', `/v2/${R}/blobs/uploads/?digest=${digest}`, { body: data, headers: { 'content-type': 'application/octet-stream' } });
    await expectCreated(res, R, digest);
    await expectBlob(R, digest, data);
    const followed = await c.get(res.headers.get('location')!);
    expect(new Uint8Array(await followed.arrayBuffer()) as Uint8Array).toEqual(data);
  });

  test('accepts an in-process request body that carries no Content-Length', async () => {
    // Request objects built in-process (registry.fetch, app.handle) have a body but no Content-Length header.
    const data = randomBytes(100);
    const digest = digestOf(data);
    await expectCreated(await c.send('POST', `/v2/${R}/blobs/uploads/?digest=${digest}`, { body: data, noLength: true }), R, digest);
    await expectBlob(R, digest, data);
  });

  test('accepts a chunked (streamed) monolithic body', async () => {
    const parts = [randomBytes(10), randomBytes(20), randomBytes(30)];
    const all = new Uint8Array([...parts[0]!, ...parts[1]!, ...parts[2]!]);
    const digest = digestOf(all);
    await expectCreated(await c.send('POST', `/v2/${R}/blobs/uploads/?digest=${digest}`, { body: streamOf(...parts) }), R, digest);
    await expectBlob(R, digest, all);
  });

  test('stores a zero-byte blob from a POST with no body', async () => {
    const digest = digestOf(new Uint8Array(0));
    await expectCreated(await c.send('POST', `/v2/${R}/blobs/uploads/?digest=${digest}`, { headers: { 'content-length': '0' } }), R, digest);
    await expectBlob(R, digest, new Uint8Array(0));
  });

  test('stores sha512 content under its sha512 digest', async () => {
    const data = randomBytes(300);
    const digest = digestOf(data, 'sha512');
    await expectCreated(await c.send('POST', `/v2/${R}/blobs/uploads/?digest=${digest}`, { body: data }), R, digest);
    await expectBlob(R, digest, data);
  });

  test('pushing the same content twice answers 201 both times', async () => {
    const data = new TextEncoder().encode('{}');
    const digest = digestOf(data);
    for (let i = 0; i < 2; i++) await expectCreated(await c.send('POST', `/v2/${R}/blobs/uploads/?digest=${digest}`, { body: data }), R, digest);
  });

  test('refuses a digest that does not match the body with 400 DIGEST_INVALID and stores nothing', async () => {
    const data = randomBytes(64);
    const claimed = digestOf('something else');
    const error = await expectError(await c.send('POST', `/v2/${R}/blobs/uploads/?digest=${claimed}`, { body: data }), 400, 'DIGEST_INVALID');
    expect(error.detail).toMatchObject({ expected: claimed, actual: digestOf(data) });
    await expectInvisible(R, claimed, digestOf(data));
  });

  test('refuses a body shorter than its Content-Length with 400 SIZE_INVALID and stores nothing', async () => {
    const data = randomBytes(10);
    const digest = digestOf(data);
    const res = await c.send('POST', `/v2/${R}/blobs/uploads/?digest=${digest}`, { body: data, headers: { 'content-length': '20' } });
    await expectError(res, 400, 'SIZE_INVALID');
    await expectInvisible(R, digest);
  });

  test('refuses a malformed Content-Length with 400 SIZE_INVALID', async () => {
    const data = randomBytes(10);
    const res = await c.send('POST', `/v2/${R}/blobs/uploads/?digest=${digestOf(data)}`, { body: data, headers: { 'content-length': '1x' } });
    await expectError(res, 400, 'SIZE_INVALID');
  });

  test.each(['sha256:abc', 'sha256', 'md5:d41d8cd98f00b204e9800998ecf8427e', `SHA256:${'a'.repeat(64)}`, ''])(
    'refuses the malformed digest "%s" with 400 DIGEST_INVALID',
    async (bad) => {
      await expectError(await c.send('POST', `/v2/${R}/blobs/uploads/?digest=${bad}`, { body: randomBytes(4) }), 400, 'DIGEST_INVALID');
    },
  );

  test('refuses an unsupported digest-algorithm with 400 DIGEST_INVALID', async () => {
    await expectError(await c.send('POST', `/v2/${R}/blobs/uploads/?digest-algorithm=md5`), 400, 'DIGEST_INVALID');
  });
});

describe('upload sessions', () => {
  test('POST without a digest opens a session: 202, Location, Range 0-0, upload id and chunk minimum', async () => {
    const res = await c.send('POST', `/v2/${R}/blobs/uploads/`);
    expect(res.status).toBe(202);
    const location = res.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^/v2/${R}/blobs/uploads/[0-9a-f-]{36}$`));
    expect(res.headers.get('range')).toBe('0-0');
    expect(res.headers.get('docker-upload-uuid')).toBe(location.split('/').at(-1)!);
    expect(res.headers.get('oci-chunk-min-length')).toBe('1024');
    expect(res.headers.get('content-length')).toBe('0');
    expect(await res.text()).toBe('');
  });

  test('POST then PUT with the whole body stores the blob', async () => {
    const data = randomBytes(512);
    const digest = digestOf(data);
    const location = await c.startUpload(R);
    await expectCreated(await put(location, digest, data), R, digest);
    await expectBlob(R, digest, data);
  });

  test('chunked PATCHes with Content-Range, then a PUT without body, store the blob', async () => {
    const data = randomBytes(3000);
    const digest = digestOf(data);
    const location = await c.startUpload(R);
    let res = await patch(location, data.subarray(0, 1024), 0);
    expect(res.status).toBe(202);
    expect(res.headers.get('range')).toBe('0-1023');
    expect(c.url(res.headers.get('location')!)).toBe(location);
    res = await patch(location, data.subarray(1024, 2048), 1024);
    expect(res.status).toBe(202);
    expect(res.headers.get('range')).toBe('0-2047');
    res = await patch(location, data.subarray(2048), 2048);
    expect(res.headers.get('range')).toBe('0-2999');
    await expectStatus(location, 3000);
    await expectCreated(await put(location, digest, undefined, { 'content-length': '0' }), R, digest);
    await expectBlob(R, digest, data);
  });

  test('a streamed PATCH without Content-Range or Content-Length appends the whole stream', async () => {
    const parts = [randomBytes(700), randomBytes(900), randomBytes(1)];
    const all = new Uint8Array([...parts[0]!, ...parts[1]!, ...parts[2]!]);
    const digest = digestOf(all);
    const location = await c.startUpload(R);
    const res = await c.send('PATCH', location, { body: streamOf(...parts), headers: { 'content-type': 'application/octet-stream' } });
    expect(res.status).toBe(202);
    expect(res.headers.get('range')).toBe(`0-${all.byteLength - 1}`);
    await expectCreated(await put(location, digest), R, digest);
    await expectBlob(R, digest, all);
  });

  test('a final PUT may carry the last chunk, with or without Content-Range', async () => {
    const data = randomBytes(2000);
    const digest = digestOf(data);
    const a = await c.startUpload(R);
    expect((await patch(a, data.subarray(0, 1500), 0)).status).toBe(202);
    await expectCreated(await put(a, digest, data.subarray(1500), { 'content-range': '1500-1999' }), R, digest);
    const b = await c.startUpload('up/other');
    expect((await patch(b, data.subarray(0, 1000))).status).toBe(202);
    await expectCreated(await put(b, digest, data.subarray(1000)), 'up/other', digest);
    await expectBlob('up/other', digest, data);
  });

  test('a sha512 upload by chunks commits under the sha512 digest, with or without digest-algorithm', async () => {
    const data = randomBytes(1500);
    const digest = digestOf(data, 'sha512');
    for (const query of ['?digest-algorithm=sha512', '']) {
      const location = await c.startUpload(`up/sha512${query ? 'a' : 'b'}`, query);
      expect((await patch(location, data.subarray(0, 1000), 0)).status).toBe(202);
      expect((await patch(location, data.subarray(1000), 1000)).status).toBe(202);
      await expectCreated(await put(location, digest), `up/sha512${query ? 'a' : 'b'}`, digest);
    }
    await expectBlob('up/sha512a', digest, data);
    await expectBlob('up/sha512b', digest, data);
  });

  test('an empty PATCH leaves the session as it was', async () => {
    const location = await c.startUpload(R);
    expect((await patch(location, randomBytes(10), 0)).status).toBe(202);
    const res = await c.send('PATCH', location, { headers: { 'content-length': '0' } });
    expect(res.status).toBe(202);
    expect(res.headers.get('range')).toBe('0-9');
  });

  test('GET on a session reports 204 with Range, Location and the upload id', async () => {
    const location = await c.startUpload(R);
    await expectStatus(location, 0);
    expect((await patch(location, randomBytes(5), 0)).status).toBe(202);
    const res = await c.get(location);
    expect(res.status).toBe(204);
    expect(res.headers.get('range')).toBe('0-4');
    expect(res.headers.get('docker-upload-uuid')).toBe(location.split('/').at(-1)!);
  });

  test('the session ends with the PUT: its status, PATCH and PUT answer 404 BLOB_UPLOAD_UNKNOWN afterwards', async () => {
    const data = randomBytes(10);
    const digest = digestOf(data);
    const location = await c.startUpload(R);
    await expectCreated(await put(location, digest, data), R, digest);
    await expectError(await c.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await patch(location, data), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await put(location, digest), 404, 'BLOB_UPLOAD_UNKNOWN');
  });
});

describe('chunks that do not continue the upload', () => {
  test('an out-of-order chunk gets 416 with the current Range, and the session survives', async () => {
    const data = randomBytes(3000);
    const location = await c.startUpload(R);
    expect((await patch(location, data.subarray(0, 1000), 0)).status).toBe(202);
    const skipped = await patch(location, data.subarray(2000), 2000);
    expect(skipped.headers.get('range')).toBe('0-999');
    await expectError(skipped, 416, 'BLOB_UPLOAD_INVALID');
    await expectStatus(location, 1000);
    expect((await patch(location, data.subarray(1000, 2000), 1000)).status).toBe(202);
    expect((await patch(location, data.subarray(2000), 2000)).status).toBe(202);
    await expectCreated(await put(location, digestOf(data)), R, digestOf(data));
    await expectBlob(R, digestOf(data), data);
  });

  test('a chunk that overlaps bytes already received gets 416 and changes nothing', async () => {
    const data = randomBytes(200);
    const location = await c.startUpload(R);
    expect((await patch(location, data.subarray(0, 100), 0)).status).toBe(202);
    await expectError(await patch(location, data.subarray(50, 150), 50), 416, 'BLOB_UPLOAD_INVALID');
    await expectError(await patch(location, data.subarray(0, 100), 0), 416, 'BLOB_UPLOAD_INVALID');
    await expectStatus(location, 100);
  });

  test('a first chunk that does not start at 0 gets 416', async () => {
    const location = await c.startUpload(R);
    const res = await patch(location, randomBytes(10), 5);
    expect(res.headers.get('range')).toBe('0-0');
    await expectError(res, 416, 'BLOB_UPLOAD_INVALID');
    await expectStatus(location, 0);
  });

  test('a final PUT whose chunk does not continue the upload gets 416 and commits nothing', async () => {
    const data = randomBytes(100);
    const location = await c.startUpload(R);
    expect((await patch(location, data.subarray(0, 50), 0)).status).toBe(202);
    await expectError(await put(location, digestOf(data), data.subarray(60), { 'content-range': '60-99' }), 416, 'BLOB_UPLOAD_INVALID');
    await expectInvisible(R, digestOf(data));
    await expectStatus(location, 50);
  });

  test('a PATCH whose Content-Length differs from its Content-Range is refused and changes nothing', async () => {
    const data = randomBytes(100);
    const location = await c.startUpload(R);
    expect((await patch(location, data.subarray(0, 40), 0)).status).toBe(202);
    const res = await c.send('PATCH', location, { body: data.subarray(40, 70), headers: { 'content-range': '40-99' } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    await expectError(res, res.status, 'SIZE_INVALID');
    await expectStatus(location, 40);
    expect((await patch(location, data.subarray(40), 40)).status).toBe(202);
    await expectCreated(await put(location, digestOf(data)), R, digestOf(data));
  });

  test('a streamed PATCH shorter than its Content-Range is refused and rolled back', async () => {
    const data = randomBytes(100);
    const location = await c.startUpload(R);
    expect((await patch(location, data.subarray(0, 40), 0)).status).toBe(202);
    const res = await c.send('PATCH', location, { body: streamOf(data.subarray(40, 60), data.subarray(60, 70)), headers: { 'content-range': '40-99' } });
    await expectError(res, 400, 'SIZE_INVALID');
    await expectStatus(location, 40);
    expect((await patch(location, data.subarray(40), 40)).status).toBe(202);
    await expectCreated(await put(location, digestOf(data)), R, digestOf(data));
    await expectBlob(R, digestOf(data), data);
  });

  test('a streamed PATCH longer than its Content-Range is refused and rolled back', async () => {
    const data = randomBytes(100);
    const location = await c.startUpload(R);
    expect((await patch(location, data.subarray(0, 40), 0)).status).toBe(202);
    const res = await c.send('PATCH', location, { body: streamOf(data.subarray(40, 80), data.subarray(80)), headers: { 'content-range': '40-59' } });
    await expectError(res, 400, 'SIZE_INVALID');
    await expectStatus(location, 40);
    expect((await patch(location, data.subarray(40), 40)).status).toBe(202);
    await expectCreated(await put(location, digestOf(data)), R, digestOf(data));
  });

  test.each(['bytes', '10-5', 'abc', '-5', '0-', `0-${'9'.repeat(20)}`])('a malformed Content-Range "%s" is refused and changes nothing', async (range) => {
    const location = await c.startUpload(R);
    expect((await patch(location, randomBytes(8), 0)).status).toBe(202);
    const res = await c.send('PATCH', location, { body: randomBytes(4), headers: { 'content-range': range } });
    // The spec names no status for a malformed Content-Range; 400 and 416 are both reasonable.
    expect([400, 416]).toContain(res.status);
    await expectError(res, res.status, 'BLOB_UPLOAD_INVALID');
    await expectStatus(location, 8);
  });

  test('two PATCHes racing for the same offset: exactly one lands, the other gets 416', async () => {
    const location = await c.startUpload(R);
    const [a, b] = await Promise.all([patch(location, randomBytes(64), 0), patch(location, randomBytes(64), 0)]);
    expect([a.status, b.status].sort()).toEqual([202, 416]);
    await expectStatus(location, 64);
  });
});

describe('finishing with the wrong digest', () => {
  test('a PUT whose digest does not match gets 400 DIGEST_INVALID and nothing becomes visible', async () => {
    const data = randomBytes(256);
    const wrong = digestOf('wrong');
    const location = await c.startUpload(R);
    expect((await patch(location, data, 0)).status).toBe(202);
    const error = await expectError(await put(location, wrong), 400, 'DIGEST_INVALID');
    expect(error.detail).toMatchObject({ expected: wrong, actual: digestOf(data) });
    await expectInvisible(R, wrong, digestOf(data));
  });

  test('a sha512 digest of other content is refused the same way', async () => {
    const data = randomBytes(256);
    const location = await c.startUpload(R);
    await expectError(await put(location, digestOf('other', 'sha512'), data), 400, 'DIGEST_INVALID');
    await expectInvisible(R, digestOf('other', 'sha512'), digestOf(data, 'sha512'), digestOf(data));
  });

  test('a PUT without a digest parameter gets 400 DIGEST_INVALID', async () => {
    const location = await c.startUpload(R);
    await expectError(await c.send('PUT', location, { body: randomBytes(4) }), 400, 'DIGEST_INVALID');
  });

  test('a PUT with a malformed digest gets 400 DIGEST_INVALID and the session survives', async () => {
    const location = await c.startUpload(R);
    expect((await patch(location, randomBytes(4), 0)).status).toBe(202);
    await expectError(await put(location, 'sha256:nothex'), 400, 'DIGEST_INVALID');
    await expectStatus(location, 4);
  });
});

describe('cancel', () => {
  test('DELETE on a session answers 204, after which the session is unknown', async () => {
    const location = await c.startUpload(R);
    expect((await patch(location, randomBytes(10), 0)).status).toBe(202);
    const res = await c.delete(location);
    expect(res.status).toBe(204);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    await expectError(await c.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await patch(location, randomBytes(1), 10), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await c.delete(location), 404, 'BLOB_UPLOAD_UNKNOWN');
  });
});

describe('session ids', () => {
  test('an id from another repository is unknown here, and the session still works where it belongs', async () => {
    const data = randomBytes(30);
    const location = await c.startUpload('up/owner');
    const id = location.split('/').at(-1)!;
    const foreign = `/v2/up/intruder/blobs/uploads/${id}`;
    await expectError(await c.get(foreign), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await patch(foreign, data, 0), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await put(foreign, digestOf(data), data), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await c.delete(foreign), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectInvisible('up/intruder', digestOf(data));
    await expectStatus(location, 0);
    await expectCreated(await put(location, digestOf(data), data), 'up/owner', digestOf(data));
  });

  test.each([
    ['a well-formed id never issued', crypto.randomUUID()],
    ['an upper-case copy of an id', crypto.randomUUID().toUpperCase()],
    ['a dot-dot', '..%2F..%2Fblobs'],
    ['a file name', 'ledger.sqlite'],
    ['a very long id', 'a'.repeat(5000)],
    ['an encoded slash', 'x%2Fy'],
  ])('%s is 404 BLOB_UPLOAD_UNKNOWN for GET, PATCH, PUT and DELETE', async (_what, id) => {
    const location = `/v2/${R}/blobs/uploads/${id}`;
    await expectError(await c.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await patch(location, randomBytes(4), 0), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await put(location, digestOf('x'), new TextEncoder().encode('x')), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await c.delete(location), 404, 'BLOB_UPLOAD_UNKNOWN');
  });
});

describe('mount', () => {
  test('mounts a blob from a named repository: 201, Location and digest, visible in both', async () => {
    const data = randomBytes(77);
    const digest = await c.pushBlob('mnt/src', data);
    const res = await c.send('POST', `/v2/mnt/dst/blobs/uploads/?mount=${digest}&from=mnt/src`);
    await expectCreated(res, 'mnt/dst', digest);
    await expectBlob('mnt/dst', digest, data);
    await expectBlob('mnt/src', digest, data);
  });

  test('mounts anonymously (no from) from any repository holding the blob', async () => {
    const data = randomBytes(78);
    const digest = await c.pushBlob('mnt/src', data);
    await expectCreated(await c.send('POST', `/v2/mnt/anon/blobs/uploads/?mount=${digest}`), 'mnt/anon', digest);
    await expectBlob('mnt/anon', digest, data);
  });

  test('answers 201 for a mount into a repository that already has the blob', async () => {
    const digest = await c.pushBlob('mnt/src', randomBytes(9));
    await expectCreated(await c.send('POST', `/v2/mnt/src/blobs/uploads/?mount=${digest}&from=mnt/src`), 'mnt/src', digest);
  });

  test('falls back to 202 and a working session when the blob is missing', async () => {
    const data = randomBytes(90);
    const digest = digestOf(data);
    const res = await c.send('POST', `/v2/mnt/dst/blobs/uploads/?mount=${digest}&from=mnt/src`);
    expect(res.status).toBe(202);
    const location = c.url(res.headers.get('location')!);
    await expectStatus(location, 0);
    expect((await patch(location, data, 0)).status).toBe(202);
    await expectCreated(await put(location, digest), 'mnt/dst', digest);
    await expectBlob('mnt/dst', digest, data);
  });

  test('falls back to 202 when the named source lacks the blob, even if another repository has it', async () => {
    const digest = await c.pushBlob('mnt/holder', randomBytes(11));
    const res = await c.send('POST', `/v2/mnt/dst2/blobs/uploads/?mount=${digest}&from=mnt/empty`);
    expect(res.status).toBe(202);
    await expectInvisible('mnt/dst2', digest);
  });

  test('refuses an invalid from name with 400 NAME_INVALID and a malformed mount digest with 400 DIGEST_INVALID', async () => {
    const digest = await c.pushBlob('mnt/src', randomBytes(12));
    await expectError(await c.send('POST', `/v2/mnt/dst/blobs/uploads/?mount=${digest}&from=Mnt/Src`), 400, 'NAME_INVALID');
    await expectError(await c.send('POST', `/v2/mnt/dst/blobs/uploads/?mount=sha256:zz&from=mnt/src`), 400, 'DIGEST_INVALID');
  });

  test('a mounted blob deleted in the target stays in the source', async () => {
    const data = randomBytes(33);
    const digest = await c.pushBlob('mnt/keep', data);
    await expectCreated(await c.send('POST', `/v2/mnt/drop/blobs/uploads/?mount=${digest}&from=mnt/keep`), 'mnt/drop', digest);
    expect((await c.delete(`/v2/mnt/drop/blobs/${digest}`)).status).toBe(202);
    await expectInvisible('mnt/drop', digest);
    await expectBlob('mnt/keep', digest, data);
  });
});

describe('mount settings', () => {
  test('with anonymousMount off, a mount without from opens a session; with from it still mounts', async () => {
    const strict = openRegistry({ anonymousMount: false, chunkMinLength: 5 * 1024 * 1024 });
    try {
      const digest = await strict.client.pushBlob('strict/src', randomBytes(20));
      const anonymous = await strict.client.send('POST', `/v2/strict/dst/blobs/uploads/?mount=${digest}`);
      expect(anonymous.status).toBe(202);
      expect(anonymous.headers.get('oci-chunk-min-length')).toBe(String(5 * 1024 * 1024));
      expect((await strict.client.head(`/v2/strict/dst/blobs/${digest}`)).status).toBe(404);
      const named = await strict.client.send('POST', `/v2/strict/dst/blobs/uploads/?mount=${digest}&from=strict/src`);
      expect(named.status).toBe(201);
      expect((await strict.client.head(`/v2/strict/dst/blobs/${digest}`)).status).toBe(200);
    } finally {
      await strict.close();
    }
  });
});

describe('sessions across a restart', () => {
  test.each(['sha256', 'sha512'] as const)('an upload resumes in a reopened registry and commits under its %s digest', async (algorithm) => {
    const root = tempDir();
    const data = randomBytes(5000);
    const digest = digestOf(data, algorithm);
    const first = openRegistry({}, root);
    const location = await first.client.startUpload('restart/repo', algorithm === 'sha512' ? '?digest-algorithm=sha512' : '');
    expect((await first.client.send('PATCH', location, { body: data.subarray(0, 3000), headers: { 'content-range': '0-2999' } })).status).toBe(202);
    await first.close({ keepData: true });

    const second = openRegistry({}, root);
    try {
      const status = await second.client.get(location);
      expect(status.status).toBe(204);
      expect(status.headers.get('range')).toBe('0-2999');
      expect((await second.client.send('PATCH', location, { body: data.subarray(3000), headers: { 'content-range': '3000-4999' } })).status).toBe(202);
      const put = await second.client.send('PUT', `${location}?digest=${digest}`);
      expect(put.status).toBe(201);
      expect(put.headers.get('docker-content-digest')).toBe(digest);
      const got = await second.client.get(`/v2/restart/repo/blobs/${digest}`);
      expect(new Uint8Array(await got.arrayBuffer()) as Uint8Array).toEqual(data);
    } finally {
      await second.close();
    }
  });

  test('a session stays owned by its repository after a restart', async () => {
    const root = tempDir();
    const first = openRegistry({}, root);
    const location = await first.client.startUpload('restart/owner');
    await first.close({ keepData: true });
    const second = openRegistry({}, root);
    try {
      const id = location.split('/').at(-1)!;
      await expectError(await second.client.get(`/v2/restart/other/blobs/uploads/${id}`), 404, 'BLOB_UPLOAD_UNKNOWN');
      expect((await second.client.get(location)).status).toBe(204);
    } finally {
      await second.close();
    }
  });
});

describe('races between pushes and deletes of the same content', () => {
  test('deleting a blob in one repository while pushing it to another never loses the pushed copy', async () => {
    for (let i = 0; i < 25; i++) {
      const data = randomBytes(256);
      const digest = await c.pushBlob('race/a', data);
      const [deleted, pushed] = await Promise.all([
        c.delete(`/v2/race/a/blobs/${digest}`),
        c.send('POST', `/v2/race/b/blobs/uploads/?digest=${digest}`, { body: data }),
      ]);
      expect([deleted.status, pushed.status]).toEqual([202, 201]);
      const res = await c.get(`/v2/race/b/blobs/${digest}`);
      expect({ i, status: res.status }).toEqual({ i, status: 200 });
      expect(new Uint8Array(await res.arrayBuffer()) as Uint8Array).toEqual(data);
    }
  });

  test('deleting a blob while mounting it elsewhere leaves the mounted copy readable', async () => {
    for (let i = 0; i < 25; i++) {
      const data = randomBytes(128);
      const digest = await c.pushBlob('race/src', data);
      const [deleted, mounted] = await Promise.all([
        c.delete(`/v2/race/src/blobs/${digest}`),
        c.send('POST', `/v2/race/dst/blobs/uploads/?mount=${digest}&from=race/src`),
      ]);
      expect(deleted.status).toBe(202);
      // Either the mount won (201, readable) or the delete did (202 session, nothing visible): never a dangling link.
      const res = await c.get(`/v2/race/dst/blobs/${digest}`);
      if (mounted.status === 201) {
        expect({ i, status: res.status }).toEqual({ i, status: 200 });
        expect(new Uint8Array(await res.arrayBuffer()) as Uint8Array).toEqual(data);
      } else {
        expect(mounted.status).toBe(202);
        expect(res.status).toBe(404);
      }
    }
  });
});

describe('idle sessions', () => {
  test('sessions idle past the timeout are purged by the registry', async () => {
    const idle = openRegistry({ uploadIdleTimeoutMs: 20 });
    try {
      const location = await idle.client.startUpload('idle/repo');
      expect((await idle.client.send('PATCH', location, { body: randomBytes(4) })).status).toBe(202);
      const deadline = Date.now() + 3000;
      let status = 0;
      while (Date.now() < deadline) {
        await Bun.sleep(25);
        await idle.registry.purgeUploads();
        status = (await idle.client.get(location)).status;
        if (status === 404) break;
      }
      expect(status).toBe(404);
      expect(await idle.registry.purgeUploads()).toBe(0);
    } finally {
      await idle.close();
    }
  });

  test('a slow monolithic POST is not purged under it', async () => {
    const idle = openRegistry({ uploadIdleTimeoutMs: 50 });
    try {
      const parts = [randomBytes(16), randomBytes(16)];
      const digest = digestOf(new Uint8Array([...parts[0]!, ...parts[1]!]));
      let step = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (step === 2) return controller.close();
          if (step === 1) await Bun.sleep(300);
          controller.enqueue(parts[step++]!);
        },
      });
      const res = await idle.client.send('POST', `/v2/idle/mono/blobs/uploads/?digest=${digest}`, { body });
      expect({ status: res.status, body: await res.text() }).toEqual({ status: 201, body: '' });
      expect((await idle.client.head(`/v2/idle/mono/blobs/${digest}`)).status).toBe(200);
    } finally {
      await idle.close();
    }
  });

  test('purgeUploads keeps sessions that are still fresh', async () => {
    const location = await c.startUpload(R);
    expect(await t.registry.purgeUploads()).toBe(0);
    await expectStatus(location, 0);
  });

  test('a session receiving a slow PATCH is not purged under it', async () => {
    // The purge picks sessions idle by the ledger, then waits for the session lock held by the PATCH; it must
    // look again once it has the lock, or it deletes a session that was touched a moment ago.
    const idle = openRegistry({ uploadIdleTimeoutMs: 150 });
    try {
      const location = await idle.client.startUpload('idle/slow');
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          controller.enqueue(randomBytes(8));
          await Bun.sleep(600);
          controller.enqueue(randomBytes(8));
          controller.close();
        },
      });
      const res = await idle.client.send('PATCH', location, { body });
      expect(res.status).toBe(202);
      expect(res.headers.get('range')).toBe('0-15');
      // Give a purge waiting on the lock its chance to run.
      await Bun.sleep(5);
      const status = await idle.client.get(location);
      expect(status.status).toBe(204);
      expect(status.headers.get('range')).toBe('0-15');
    } finally {
      await idle.close();
    }
  });
});
