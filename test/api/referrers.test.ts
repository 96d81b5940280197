/** The referrers API: listing, artifactType fallback, annotations, filtering, pagination, and deletes. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { digestOf } from '../../src/oci/digest.ts';
import { bytesOf, descriptorOf, expectError, OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, type Client, type Descriptor, type Pushed } from '../helpers/client.ts';
import { openRegistry, type TestRegistry } from '../helpers/registry.ts';

let t: TestRegistry;
let c: Client;
const R = 'ref/repo';
let subject: Pushed;
let plain: Pushed; // image with a subject, no artifactType
let sbom: Pushed; // artifact type application/x.sbom, two annotations
let sig: Pushed; // artifact type application/x.sig
let setIndex: Pushed; // index referrer without artifactType
const EMPTY = bytesOf('{}');

async function referrers(repo: string, digest: string, query = ''): Promise<{ res: Response; body: { schemaVersion: number; mediaType: string; manifests: Descriptor[] } }> {
  const res = await c.get(`/v2/${repo}/referrers/${digest}${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(OCI_INDEX);
  const text = await res.text();
  expect(res.headers.get('content-length')).toBe(String(bytesOf(text).byteLength));
  const body = JSON.parse(text);
  expect(body.schemaVersion).toBe(2);
  expect(body.mediaType).toBe(OCI_INDEX);
  return { res, body };
}

async function artifact(artifactType: string, annotations: Record<string, string>, subjectDescriptor: Descriptor, repo = R): Promise<Pushed> {
  await c.pushBlob(repo, EMPTY);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: descriptorOf(OCI_EMPTY, EMPTY),
    layers: [descriptorOf(OCI_EMPTY, EMPTY)],
    subject: subjectDescriptor,
    annotations,
  };
  return c.pushManifest(repo, undefined, manifest, OCI_MANIFEST);
}

beforeAll(async () => {
  t = openRegistry();
  c = t.client;
  subject = await c.pushImage(R, { reference: 'image' });
  plain = await c.pushImage(R, { subject: subject.descriptor });
  sbom = await artifact('application/x.sbom', { 'org.example.a': '1', 'org.example.b': '2' }, subject.descriptor);
  sig = await artifact('application/x.sig', { 'org.example.sig': 'yes' }, subject.descriptor);
  setIndex = await c.pushIndex(R, [sbom.descriptor], { subject: subject.descriptor, annotations: { 'org.example.index': 'i' } });
});
afterAll(() => t.close());

describe('referrers', () => {
  test('answers an unknown subject with 200 and an empty image index', async () => {
    const { body } = await referrers(R, digestOf('nobody refers to this'));
    expect(body.manifests).toEqual([]);
  });

  test('answers 200 with an empty index even for a repository that does not exist', async () => {
    const { body } = await referrers('ref/never', digestOf('x'));
    expect(body.manifests).toEqual([]);
  });

  test('lists every referrer with mediaType, digest and size', async () => {
    const { res, body } = await referrers(R, subject.digest);
    expect(res.headers.get('oci-filters-applied')).toBeNull();
    expect(res.headers.get('link')).toBeNull();
    const byDigest = new Map(body.manifests.map((d) => [d.digest, d]));
    expect([...byDigest.keys()].sort()).toEqual([plain.digest, sbom.digest, sig.digest, setIndex.digest].sort());
    for (const p of [plain, sbom, sig]) expect(byDigest.get(p.digest)).toMatchObject({ mediaType: OCI_MANIFEST, size: p.bytes.byteLength });
    expect(byDigest.get(setIndex.digest)).toMatchObject({ mediaType: OCI_INDEX, size: setIndex.bytes.byteLength });
  });

  test("uses an image's artifactType, falls back to its config mediaType, and omits it for an index without one", async () => {
    const byDigest = new Map((await referrers(R, subject.digest)).body.manifests.map((d) => [d.digest, d]));
    expect(byDigest.get(sbom.digest)!.artifactType).toBe('application/x.sbom');
    expect(byDigest.get(plain.digest)!.artifactType).toBe(OCI_CONFIG);
    expect('artifactType' in byDigest.get(setIndex.digest)!).toBe(false);
  });

  test('copies the manifest annotations into each descriptor', async () => {
    const byDigest = new Map((await referrers(R, subject.digest)).body.manifests.map((d) => [d.digest, d]));
    expect(byDigest.get(sbom.digest)!.annotations).toEqual({ 'org.example.a': '1', 'org.example.b': '2' });
    expect(byDigest.get(setIndex.digest)!.annotations).toEqual({ 'org.example.index': 'i' });
  });

  test('filters by artifactType and says so in OCI-Filters-Applied', async () => {
    const { res, body } = await referrers(R, subject.digest, '?artifactType=application/x.sbom');
    expect(res.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(body.manifests.map((d) => d.digest)).toEqual([sbom.digest]);
    const none = await referrers(R, subject.digest, `?artifactType=${encodeURIComponent('application/x.none')}`);
    expect(none.res.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(none.body.manifests).toEqual([]);
  });

  test('lists a referrer whose subject was never pushed', async () => {
    const missing = descriptorOf(OCI_MANIFEST, bytesOf('missing content'));
    const orphan = await artifact('application/x.orphan', { a: 'b' }, missing);
    expect(orphan.response.headers.get('oci-subject')).toBe(missing.digest);
    const { body } = await referrers(R, missing.digest);
    expect(body.manifests.map((d) => d.digest)).toEqual([orphan.digest]);
  });

  test('keeps referrers per repository', async () => {
    const { body } = await referrers('ref/other', subject.digest);
    expect(body.manifests).toEqual([]);
  });

  test('refuses a malformed subject digest with 400', async () => {
    await expectError(await c.get(`/v2/${R}/referrers/sha256:short`), 400, 'DIGEST_INVALID');
    await expectError(await c.get(`/v2/${R}/referrers/latest`), 400, 'DIGEST_INVALID');
  });

  test('drops the referrer edge when the referrer is deleted by digest, but not when only its tag is', async () => {
    const s = await c.pushImage('ref/del', { reference: 'subject' });
    const a = await artifact('application/x.del', { k: 'v' }, s.descriptor, 'ref/del');
    expect((await c.putManifest('ref/del', 'tagged-artifact', a.bytes, OCI_MANIFEST)).status).toBe(201);
    expect((await c.delete('/v2/ref/del/manifests/tagged-artifact')).status).toBe(202);
    expect((await referrers('ref/del', s.digest)).body.manifests.map((d) => d.digest)).toEqual([a.digest]);
    expect((await c.delete(`/v2/ref/del/manifests/${a.digest}`)).status).toBe(202);
    expect((await referrers('ref/del', s.digest)).body.manifests).toEqual([]);
  });

  test('keeps referrers listed after their subject is deleted', async () => {
    const s = await c.pushImage('ref/subject-gone', { reference: 'subject' });
    const a = await artifact('application/x.keep', { k: 'v' }, s.descriptor, 'ref/subject-gone');
    expect((await c.delete(`/v2/ref/subject-gone/manifests/${s.digest}`)).status).toBe(202);
    expect((await referrers('ref/subject-gone', s.digest)).body.manifests.map((d) => d.digest)).toEqual([a.digest]);
  });
});

describe('referrers pagination', () => {
  let small: TestRegistry;
  const pushed: string[] = [];
  let subjectDigest: string;

  beforeAll(async () => {
    small = openRegistry({ referrersPageSize: 2 });
    const sc = small.client;
    const s = await sc.pushImage('page/repo', { reference: 'subject' });
    subjectDigest = s.digest;
    await sc.pushBlob('page/repo', EMPTY);
    for (let i = 0; i < 5; i++) {
      const type = i % 2 ? 'application/x.odd' : 'application/x.even';
      const m = { schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: type, config: descriptorOf(OCI_EMPTY, EMPTY), layers: [], subject: s.descriptor, annotations: { i: String(i) } };
      pushed.push((await sc.pushManifest('page/repo', undefined, m, OCI_MANIFEST)).digest);
    }
  });
  afterAll(() => small.close());

  async function walk(first: string): Promise<{ digests: string[]; pages: number; filtered: boolean[] }> {
    const digests: string[] = [];
    const filtered: boolean[] = [];
    let next: string | null = first;
    let pages = 0;
    for (; next && pages < 10; pages++) {
      const res = await small.client.get(next);
      expect(res.status).toBe(200);
      const body = await res.json() as any;
      expect(body.manifests.length).toBeLessThanOrEqual(2);
      digests.push(...body.manifests.map((d: Descriptor) => d.digest));
      filtered.push(res.headers.get('oci-filters-applied') === 'artifactType');
      const link = res.headers.get('link');
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1]! : null;
    }
    return { digests, pages, filtered };
  }

  test('splits a long list into pages joined by Link headers, every referrer exactly once', async () => {
    const { digests, pages } = await walk(`/v2/page/repo/referrers/${subjectDigest}`);
    expect(pages).toBe(3);
    expect([...digests].sort()).toEqual([...pushed].sort());
  });

  test('keeps the artifactType filter on every page', async () => {
    const { digests, filtered } = await walk(`/v2/page/repo/referrers/${subjectDigest}?artifactType=application/x.even`);
    expect([...digests].sort()).toEqual([pushed[0]!, pushed[2]!, pushed[4]!].sort());
    expect(filtered.every(Boolean)).toBe(true);
  });
});
