/** Manifest and tag deletes, and the settings that switch writes, deletes and referrers off. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { digestOf } from '../../src/oci/digest.ts';
import { expectError, OCI_MANIFEST, randomBytes, type Client, type Pushed } from '../helpers/client.ts';
import { openRegistry, tempDir, type TestRegistry } from '../helpers/registry.ts';

describe('manifest and tag deletes', () => {
  let t: TestRegistry;
  let c: Client;
  beforeAll(() => {
    t = openRegistry();
    c = t.client;
  });
  afterAll(() => t.close());

  test('deleting a tag answers 202 and removes only the tag; the manifest stays by digest and under other tags', async () => {
    const pushed = await c.pushImage('del/tags', { reference: 'one' });
    expect((await c.putManifest('del/tags', 'two', pushed.bytes, OCI_MANIFEST)).status).toBe(201);
    const res = await c.delete('/v2/del/tags/manifests/one');
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('');
    expect((await c.head('/v2/del/tags/manifests/one')).status).toBe(404);
    await expectError(await c.get('/v2/del/tags/manifests/one'), 404, 'MANIFEST_UNKNOWN');
    expect((await c.head(`/v2/del/tags/manifests/${pushed.digest}`)).status).toBe(200);
    expect((await c.head('/v2/del/tags/manifests/two')).status).toBe(200);
  });

  test('deleting a manifest by digest answers 202 and removes every tag pointing at it', async () => {
    const pushed = await c.pushImage('del/digest', { reference: 'a', tags: ['b', 'c'] });
    const other = await c.pushImage('del/digest', { reference: 'other' });
    expect((await c.delete(`/v2/del/digest/manifests/${pushed.digest}`)).status).toBe(202);
    for (const ref of [pushed.digest, 'a', 'b', 'c']) expect({ ref, status: (await c.head(`/v2/del/digest/manifests/${ref}`)).status }).toEqual({ ref, status: 404 });
    expect((await (await c.get('/v2/del/digest/tags/list')).json() as any).tags).toEqual(['other']);
    expect((await c.head(`/v2/del/digest/manifests/${other.digest}`)).status).toBe(200);
  });

  test('a tag moved to another manifest survives the delete of the manifest it used to name', async () => {
    const first = await c.pushImage('del/moved', { reference: 'moving' });
    const second = await c.pushImage('del/moved', { reference: 'moving' });
    expect((await c.delete(`/v2/del/moved/manifests/${first.digest}`)).status).toBe(202);
    const res = await c.get('/v2/del/moved/manifests/moving');
    expect(res.headers.get('docker-content-digest')).toBe(second.digest);
  });

  test('deleting a manifest leaves its blobs in place', async () => {
    const pushed = await c.pushImage('del/blobs');
    expect((await c.delete(`/v2/del/blobs/manifests/${pushed.digest}`)).status).toBe(202);
    expect((await c.head(`/v2/del/blobs/blobs/${pushed.layers[0]!.digest}`)).status).toBe(200);
  });

  test('the same manifest in another repository is untouched by a delete', async () => {
    const pushed = await c.pushImage('del/x', { reference: 'same' });
    for (const d of [(pushed.manifest.config as { digest: string }).digest, pushed.layers[0]!.digest]) {
      const res = await c.send('POST', `/v2/del/y/blobs/uploads/?mount=${d}&from=del/x`);
      expect(res.status).toBe(201);
    }
    expect((await c.putManifest('del/y', 'same', pushed.bytes, OCI_MANIFEST)).status).toBe(201);
    expect((await c.delete(`/v2/del/x/manifests/${pushed.digest}`)).status).toBe(202);
    expect((await c.head('/v2/del/y/manifests/same')).status).toBe(200);
  });

  test('answers deletes of unknown tags and digests with 404 MANIFEST_UNKNOWN, twice in a row too', async () => {
    const pushed = await c.pushImage('del/twice', { reference: 't' });
    expect((await c.delete(`/v2/del/twice/manifests/${pushed.digest}`)).status).toBe(202);
    await expectError(await c.delete(`/v2/del/twice/manifests/${pushed.digest}`), 404, 'MANIFEST_UNKNOWN');
    await expectError(await c.delete('/v2/del/twice/manifests/t'), 404, 'MANIFEST_UNKNOWN');
  });

  test('answers deletes in a repository that holds nothing with 404 NAME_UNKNOWN', async () => {
    await expectError(await c.delete('/v2/del/nowhere/manifests/latest'), 404, 'NAME_UNKNOWN');
    await expectError(await c.delete(`/v2/del/nowhere/manifests/sha256:${'a'.repeat(64)}`), 404, 'NAME_UNKNOWN');
  });

  test('refuses a delete with a malformed reference with 400', async () => {
    await expectError(await c.delete('/v2/del/x/manifests/sha256:bad'), 400, 'DIGEST_INVALID');
    await expectError(await c.delete('/v2/del/x/manifests/.bad'), 400, 'MANIFEST_INVALID');
  });
});

describe('deleteEnabled: false', () => {
  let t: TestRegistry;
  let pushed: Pushed & { layers: { digest: string }[] };
  beforeAll(async () => {
    t = openRegistry({ deleteEnabled: false });
    pushed = await t.client.pushImage('nodel/repo', { reference: 'v1' });
  });
  afterAll(() => t.close());

  test('refuses manifest, tag and blob deletes with 405 UNSUPPORTED and keeps the content', async () => {
    const c = t.client;
    await expectError(await c.delete(`/v2/nodel/repo/manifests/${pushed.digest}`), 405, 'UNSUPPORTED');
    await expectError(await c.delete('/v2/nodel/repo/manifests/v1'), 405, 'UNSUPPORTED');
    await expectError(await c.delete(`/v2/nodel/repo/blobs/${pushed.layers[0]!.digest}`), 405, 'UNSUPPORTED');
    expect((await c.head('/v2/nodel/repo/manifests/v1')).status).toBe(200);
    expect((await c.head(`/v2/nodel/repo/blobs/${pushed.layers[0]!.digest}`)).status).toBe(200);
  });

  test('still lets a client push and cancel its own upload', async () => {
    const c = t.client;
    await c.pushBlob('nodel/repo', randomBytes(10));
    const location = await c.startUpload('nodel/repo');
    expect((await c.delete(location)).status).toBe(204);
  });
});

describe('readOnly: true', () => {
  const root = tempDir();
  let t: TestRegistry;
  let pushed: Pushed & { layers: { digest: string }[] };
  let openUpload: string;

  beforeAll(async () => {
    const writable = openRegistry({}, root);
    pushed = await writable.client.pushImage('ro/repo', { reference: 'v1' });
    openUpload = await writable.client.startUpload('ro/repo');
    await writable.close({ keepData: true });
    t = openRegistry({ readOnly: true }, root);
  });
  afterAll(() => t.close());

  test('refuses every write with 405 UNSUPPORTED', async () => {
    const c = t.client;
    const data = randomBytes(8);
    const writes: [string, string, Uint8Array | undefined][] = [
      ['POST', '/v2/ro/repo/blobs/uploads/', undefined],
      ['POST', `/v2/ro/repo/blobs/uploads/?digest=${digestOf(data)}`, data],
      ['POST', `/v2/ro/other/blobs/uploads/?mount=${pushed.layers[0]!.digest}&from=ro/repo`, undefined],
      ['PATCH', openUpload, data],
      ['PUT', `${openUpload}?digest=${digestOf(data)}`, data],
      ['DELETE', openUpload, undefined],
      ['PUT', '/v2/ro/repo/manifests/v2', pushed.bytes],
      ['DELETE', '/v2/ro/repo/manifests/v1', undefined],
      ['DELETE', `/v2/ro/repo/manifests/${pushed.digest}`, undefined],
      ['DELETE', `/v2/ro/repo/blobs/${pushed.layers[0]!.digest}`, undefined],
    ];
    for (const [method, path, body] of writes) {
      const res = await c.send(method, path, { body, headers: method === 'PUT' && path.includes('manifests') ? { 'content-type': OCI_MANIFEST } : {} });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 405 });
      await expectError(res, 405, 'UNSUPPORTED');
    }
  });

  test('still serves reads, including the state of an upload left open', async () => {
    const c = t.client;
    expect((await c.get('/v2/ro/repo/manifests/v1')).status).toBe(200);
    expect((await c.get(`/v2/ro/repo/blobs/${pushed.layers[0]!.digest}`)).status).toBe(200);
    expect((await c.get('/v2/ro/repo/tags/list')).status).toBe(200);
    expect((await c.get('/v2/_catalog')).status).toBe(200);
    expect((await c.get(`/v2/ro/repo/referrers/${pushed.digest}`)).status).toBe(200);
    expect((await c.get(openUpload)).status).toBe(204);
  });
});

describe('referrersEnabled: false', () => {
  let t: TestRegistry;
  beforeAll(() => {
    t = openRegistry({ referrersEnabled: false });
  });
  afterAll(() => t.close());

  test('answers the referrers API with 404 so clients fall back to the tag schema', async () => {
    const res = await t.client.get(`/v2/r/repo/referrers/${digestOf('x')}`);
    expect(res.status).toBe(404);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  test('stores manifests with a subject but sends no OCI-Subject', async () => {
    const subject = await t.client.pushImage('r/repo', { reference: 'subject' });
    const referrer = await t.client.pushImage('r/repo', { subject: subject.descriptor });
    expect(referrer.response.status).toBe(201);
    expect(referrer.response.headers.get('oci-subject')).toBeNull();
  });
});
