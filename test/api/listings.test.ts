/** tags/list and _catalog: lexical order, n/last pagination, Link headers, and bad queries. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { bytesOf, descriptorOf, expectError, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, randomBytes, type Client } from '../helpers/client.ts';
import { openRegistry, type TestRegistry } from '../helpers/registry.ts';

let t: TestRegistry;
let c: Client;
const R = 'list/repo';
// Deliberately pushed out of order; byte order puts digits, then upper case, then '_', then lower case.
const TAGS = ['v2', 'latest', 'V1', '1.0', '_under', 'alpha', 'alpha-1', 'alpha.1', 'alpha_1', 'beta', 'v10'];
const SORTED = [...TAGS].sort();

beforeAll(async () => {
  t = openRegistry();
  c = t.client;
  const config = bytesOf({ os: 'linux' });
  const layer = randomBytes(16);
  await c.pushBlob(R, config);
  await c.pushBlob(R, layer);
  const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptorOf(OCI_CONFIG, config), layers: [descriptorOf(OCI_LAYER, layer)] };
  for (const tag of TAGS) expect((await c.putManifest(R, tag, manifest, OCI_MANIFEST)).status).toBe(201);
  // A repository whose name extends this one's must not leak into its listing.
  await c.pushImage(`${R}-more`, { reference: 'zzz-other' });
  await c.pushImage(`${R}/sub`, { reference: 'aaa-other' });
});
afterAll(() => t.close());

async function tags(query = ''): Promise<{ res: Response; body: { name: string; tags: string[] } }> {
  const res = await c.get(`/v2/${R}/tags/list${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json');
  return { res, body: await res.json() as any };
}

describe('tags/list', () => {
  test('lists every tag in byte-wise lexical order under the repository name', async () => {
    const { res, body } = await tags();
    expect(body).toEqual({ name: R, tags: SORTED });
    expect(res.headers.get('link')).toBeNull();
  });

  test('returns the first n tags and a Link to the next page', async () => {
    const { res, body } = await tags('?n=3');
    expect(body.tags).toEqual(SORTED.slice(0, 3));
    expect(res.headers.get('link')).toBe(`</v2/${R}/tags/list?n=3&last=${encodeURIComponent(SORTED[2]!)}>; rel="next"`);
  });

  test('pages through every tag by following Link headers, without repeats or gaps', async () => {
    const seen: string[] = [];
    let next: string | null = `/v2/${R}/tags/list?n=4`;
    for (let page = 0; next && page < 20; page++) {
      const res = await c.get(next);
      expect(res.status).toBe(200);
      seen.push(...((await res.json() as any).tags as string[]));
      const link = res.headers.get('link');
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1]! : null;
    }
    expect(next).toBeNull();
    expect(seen).toEqual(SORTED);
  });

  test('returns only tags after last, compared lexically, with or without n', async () => {
    const last = SORTED[4]!;
    expect((await tags(`?last=${last}`)).body.tags).toEqual(SORTED.slice(5));
    expect((await tags(`?n=2&last=${last}`)).body.tags).toEqual(SORTED.slice(5, 7));
    // A last that is not itself a tag still splits the list lexically.
    expect((await tags('?last=alpha0')).body.tags).toEqual(SORTED.filter((t) => t > 'alpha0'));
  });

  test('gives no Link when the page reaches the end exactly', async () => {
    const { res, body } = await tags(`?n=${SORTED.length}`);
    expect(body.tags).toEqual(SORTED);
    expect(res.headers.get('link')).toBeNull();
    expect((await tags(`?n=${SORTED.length + 5}`)).res.headers.get('link')).toBeNull();
  });

  test('returns an empty list and no Link for n=0', async () => {
    const { res, body } = await tags('?n=0');
    expect(body).toEqual({ name: R, tags: [] });
    expect(res.headers.get('link')).toBeNull();
  });

  test('returns an empty list after the last tag', async () => {
    expect((await tags(`?last=${SORTED.at(-1)}`)).body.tags).toEqual([]);
  });

  test.each(['-1', 'abc', '1.5', '', '1e3', '9999999999', ' 1'])('refuses n=%s with 400', async (n) => {
    const res = await c.get(`/v2/${R}/tags/list?n=${encodeURIComponent(n)}`);
    expect(res.status).toBe(400);
    const body = await res.json() as any;
    expect(body.errors[0].code).toBeString();
  });

  test('refuses a last that is not a valid tag with 400', async () => {
    const res = await c.get(`/v2/${R}/tags/list?last=${encodeURIComponent('bad/tag')}`);
    expect(res.status).toBe(400);
  });

  test('answers an unknown repository with 404 NAME_UNKNOWN', async () => {
    await expectError(await c.get('/v2/list/unknown/tags/list'), 404, 'NAME_UNKNOWN');
    await expectError(await c.get('/v2/list/tags/list'), 404, 'NAME_UNKNOWN');
  });

  test('answers a repository holding only blobs with an empty tag list', async () => {
    await c.pushBlob('list/blobs-only', randomBytes(4));
    const res = await c.get('/v2/list/blobs-only/tags/list');
    expect(res.status).toBe(200);
    expect(await res.json() as any).toEqual({ name: 'list/blobs-only', tags: [] });
  });

  test('drops a deleted tag from the list', async () => {
    const pushed = await c.pushImage('list/deleting', { reference: 'gone' });
    await c.putManifest('list/deleting', 'stays', pushed.bytes, OCI_MANIFEST);
    expect((await c.delete('/v2/list/deleting/manifests/gone')).status).toBe(202);
    expect((await (await c.get('/v2/list/deleting/tags/list')).json() as any).tags).toEqual(['stays']);
  });
});

describe('_catalog', () => {
  let catalog: TestRegistry;
  const REPOS = ['b/two', 'a/one', 'c', 'a/one/deeper', 'a-one', 'a0'];

  beforeAll(async () => {
    catalog = openRegistry();
    for (const repo of REPOS) await catalog.client.pushBlob(repo, randomBytes(8));
  });
  afterAll(() => catalog.close());

  test('lists every repository in lexical order', async () => {
    const res = await catalog.client.get('/v2/_catalog');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json() as any).toEqual({ repositories: [...REPOS].sort() });
  });

  test('paginates with n and last, and Link headers that lead through every repository', async () => {
    const seen: string[] = [];
    let next: string | null = '/v2/_catalog?n=2';
    for (let page = 0; next && page < 10; page++) {
      const res = await catalog.client.get(next);
      const repos = (await res.json() as any).repositories as string[];
      expect(repos.length).toBeLessThanOrEqual(2);
      seen.push(...repos);
      const link = res.headers.get('link');
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1]! : null;
    }
    expect(seen).toEqual([...REPOS].sort());
    const res = await catalog.client.get('/v2/_catalog?last=a0');
    expect((await res.json() as any).repositories).toEqual([...REPOS].sort().filter((r) => r > 'a0'));
  });

  test('returns an empty list for n=0', async () => {
    const res = await catalog.client.get('/v2/_catalog?n=0');
    expect(await res.json() as any).toEqual({ repositories: [] });
    expect(res.headers.get('link')).toBeNull();
  });

  test('drops a repository once nothing is left in it', async () => {
    const d = await catalog.client.pushBlob('z/temporary', randomBytes(8));
    expect((await (await catalog.client.get('/v2/_catalog')).json() as any).repositories).toContain('z/temporary');
    expect((await catalog.client.delete(`/v2/z/temporary/blobs/${d}`)).status).toBe(202);
    expect((await (await catalog.client.get('/v2/_catalog')).json() as any).repositories).not.toContain('z/temporary');
  });

  test('refuses a bad n or last with 400', async () => {
    expect((await catalog.client.get('/v2/_catalog?n=x')).status).toBe(400);
    await expectError(await catalog.client.get('/v2/_catalog?last=Not%20A%20Name'), 400, 'NAME_INVALID');
  });
});
