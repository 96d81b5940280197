/** The API root, routing, names, methods and the error format shared by every endpoint. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { digestOf } from '../../src/oci/digest.ts';
import { expectError, randomBytes, type Client } from '../helpers/client.ts';
import { openRegistry, type TestRegistry } from '../helpers/registry.ts';

let t: TestRegistry;
let c: Client;
let blob: string;
let manifest: string;
const MISSING = digestOf('missing');

beforeAll(async () => {
  t = openRegistry();
  c = t.client;
  const pushed = await c.pushImage('base/repo', { reference: 'v1' });
  blob = pushed.layers[0]!.digest;
  manifest = pushed.digest;
});
afterAll(() => t.close());

describe('ping', () => {
  test('answers GET /v2/ with 200, an empty JSON object and the API version header', async () => {
    const res = await c.get('/v2/');
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json() as any).toEqual({});
  });

  test('answers /v2 without the trailing slash too', async () => {
    expect((await c.get('/v2')).status).toBe(200);
  });

  test('answers HEAD /v2/ with 200 and no body', async () => {
    const res = await c.head('/v2/');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });
});

describe('Docker-Distribution-API-Version', () => {
  test('is on every response, successes and errors alike', async () => {
    const requests: [string, string][] = [
      ['GET', '/v2/_catalog'],
      ['GET', '/v2/base/repo/tags/list'],
      ['GET', '/v2/base/repo/manifests/v1'],
      ['HEAD', '/v2/base/repo/manifests/v1'],
      ['GET', `/v2/base/repo/blobs/${blob}`],
      ['HEAD', `/v2/base/repo/blobs/${blob}`],
      ['GET', `/v2/base/repo/referrers/${manifest}`],
      ['POST', '/v2/base/repo/blobs/uploads/'],
      ['GET', '/v2/base/repo/manifests/nope'],
      ['HEAD', '/v2/base/repo/manifests/nope'],
      ['GET', `/v2/base/repo/blobs/${MISSING}`],
      ['GET', '/v2/Bad/tags/list'],
      ['GET', '/v2/nothing/here'],
      ['POST', '/v2/'],
      ['GET', '/v2/base/repo/blobs/uploads/unknown-id'],
      ['DELETE', `/v2/base/repo/blobs/${MISSING}`],
    ];
    for (const [method, path] of requests) {
      const res = await c.send(method, path);
      expect({ method, path, header: res.headers.get('docker-distribution-api-version') }).toEqual({ method, path, header: 'registry/2.0' });
      await res.arrayBuffer();
    }
  });
});

describe('routing', () => {
  test('answers an unknown endpoint under /v2/ with 404 in the spec error format', async () => {
    await expectError(await c.get('/v2/base/repo/unknown/endpoint'), 404, 'UNSUPPORTED');
    await expectError(await c.get('/v2/base/repo/tags/list/extra'), 404, 'UNSUPPORTED');
  });

  test('answers a HEAD of an unknown endpoint with 404, an empty body and the GET error headers', async () => {
    const res = await c.head('/v2/base/repo/unknown');
    const get = await c.get('/v2/base/repo/unknown');
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('');
    expect(res.headers.get('content-length')).toBe(String((await get.arrayBuffer()).byteLength));
    expect(res.headers.get('content-type')).toBe('application/json');
  });

  test.each([
    ['POST', '/v2/', 'GET, HEAD'],
    ['DELETE', '/v2/_catalog', 'GET, HEAD'],
    ['PUT', '/v2/base/repo/tags/list', 'GET, HEAD'],
    ['POST', '/v2/base/repo/manifests/v1', 'GET, HEAD, PUT, DELETE'],
    ['PATCH', '/v2/base/repo/manifests/v1', 'GET, HEAD, PUT, DELETE'],
    ['PUT', `/v2/base/repo/blobs/${MISSING}`, 'GET, HEAD, DELETE'],
    ['GET', '/v2/base/repo/blobs/uploads/', 'POST'],
    ['PUT', '/v2/base/repo/blobs/uploads/', 'POST'],
    ['POST', '/v2/base/repo/blobs/uploads/some-id', 'GET, HEAD, PATCH, PUT, DELETE'],
    ['DELETE', `/v2/base/repo/referrers/${MISSING}`, 'GET, HEAD'],
    ['OPTIONS', '/v2/base/repo/tags/list', 'GET, HEAD'],
  ])('answers %s %s with 405 and Allow: %s', async (method, path, allow) => {
    const res = await c.send(method, path);
    expect(res.headers.get('allow')).toBe(allow);
    await expectError(res, 405, 'UNSUPPORTED');
  });

  test('checks the method before the name, so a bad method on a bad name is still 405', async () => {
    const res = await c.send('POST', '/v2/BAD/tags/list');
    expect(res.status).toBe(405);
  });
});

describe('repository names', () => {
  const bad: [string, string][] = [
    ['upper case', 'Base/Repo'],
    ['a percent-encoded slash', 'base%2Frepo'],
    ['a percent-encoded slash in lower case', 'base%2frepo'],
    ['an encoded dot-dot component', 'base/%2E%2E%2Frepo'],
    ['a dot-dot inside a component', 'base..repo'],
    ['a component of three dots', 'base/...'],
    ['a name longer than 255 characters', `${'a'.repeat(200)}/${'b'.repeat(56)}`],
    ['an encoded space', 'base%20repo'],
    ['a leading separator', '_base'],
  ];

  test.each(bad)('refuses %s with 400 NAME_INVALID on every endpoint', async (_what, name) => {
    const paths = [
      `/v2/${name}/tags/list`,
      `/v2/${name}/manifests/v1`,
      `/v2/${name}/blobs/${blob}`,
      `/v2/${name}/referrers/${manifest}`,
    ];
    for (const path of paths) await expectError(await c.get(path), 400, 'NAME_INVALID');
    await expectError(await c.send('POST', `/v2/${name}/blobs/uploads/`), 400, 'NAME_INVALID');
    await expectError(await c.putManifest(name, 'v1', '{}', 'application/vnd.oci.image.manifest.v1+json'), 400, 'NAME_INVALID');
  });

  test('accepts a name of exactly 255 characters', async () => {
    const name = `${'a'.repeat(200)}/${'b'.repeat(54)}`;
    expect(name.length).toBe(255);
    const digest = await c.pushBlob(name, randomBytes(8));
    expect((await c.head(`/v2/${name}/blobs/${digest}`)).status).toBe(200);
  });

  test('resolves dot segments in the URL before routing, so they never reach a name', async () => {
    // The URL parser (and Bun.serve) collapse "a/../base/repo" to "base/repo": no traversal is possible.
    const res = await c.get('/v2/a/../base/repo/tags/list');
    expect(res.status).toBe(200);
    expect((await res.json() as any).name).toBe('base/repo');
  });
});

describe('error responses', () => {
  test('have an exact Content-Length and a JSON body with code, message and detail', async () => {
    const error = await expectError(await c.get(`/v2/base/repo/blobs/${MISSING}`), 404, 'BLOB_UNKNOWN');
    expect(error.message).toBe('blob unknown to registry');
    expect(error.detail).toEqual({ digest: MISSING });
  });

  test('have no body for HEAD, but keep the status and the Content-Length and Content-Type GET would send', async () => {
    const res = await c.head(`/v2/base/repo/blobs/${MISSING}`);
    const get = await c.get(`/v2/base/repo/blobs/${MISSING}`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-length')).toBe(String((await get.arrayBuffer()).byteLength));
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.text()).toBe('');
  });
});
