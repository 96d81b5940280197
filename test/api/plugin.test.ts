/** The Elysia plugin: the registry mounted in an application, bodies left as streams. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Elysia } from 'elysia';
import { digestOf } from '../../src/oci/digest.ts';
import { Client, expectError, OCI_MANIFEST, randomBytes, streamOf } from '../helpers/client.ts';
import { openRegistry, type TestRegistry } from '../helpers/registry.ts';

let t: TestRegistry;
let app: { handle(request: Request): Promise<Response> };
let c: Client;

beforeAll(() => {
  t = openRegistry();
  app = new Elysia().get('/health', () => 'ok').use(t.registry.plugin);
  c = new Client((request) => app.handle(request), 'http://registry.example');
});
afterAll(() => t.close());

describe('registry.plugin', () => {
  test('answers the API root through the application', async () => {
    const res = await c.get('/v2/');
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  test('leaves the application its own routes', async () => {
    const res = await app.handle(new Request('http://registry.example/health'));
    expect(await res.text()).toBe('ok');
  });

  test('streams a chunked upload through without parsing the body', async () => {
    const parts = [randomBytes(1000), randomBytes(3000)];
    const all = new Uint8Array([...parts[0]!, ...parts[1]!]);
    const location = await c.startUpload('plugin/repo');
    const res = await c.send('PATCH', location, { body: streamOf(...parts), headers: { 'content-type': 'application/octet-stream' } });
    expect(res.status).toBe(202);
    expect(res.headers.get('range')).toBe('0-3999');
    expect((await c.send('PUT', `${location}?digest=${digestOf(all)}`)).status).toBe(201);
    expect(new Uint8Array(await (await c.get(`/v2/plugin/repo/blobs/${digestOf(all)}`)).arrayBuffer()) as Uint8Array).toEqual(all);
  });

  test('keeps a JSON manifest body byte for byte (no JSON parsing on the way)', async () => {
    const pushed = await c.pushImage('plugin/repo', { reference: 'v1', extra: { ' spaced key ': [1, 2] } });
    const res = await c.get('/v2/plugin/repo/manifests/v1');
    expect(new Uint8Array(await res.arrayBuffer()) as Uint8Array).toEqual(pushed.bytes);
    expect(res.headers.get('content-type')).toBe(OCI_MANIFEST);
  });

  test('answers errors in the spec format', async () => {
    await expectError(await c.get(`/v2/plugin/repo/blobs/${digestOf('none')}`), 404, 'BLOB_UNKNOWN');
    await expectError(await c.get('/v2/Plugin/tags/list'), 400, 'NAME_INVALID');
  });
});
