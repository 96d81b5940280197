/**
 * The MetadataIndex contract: links, manifests, tags, referrers and listings behave alike in every implementation.
 * Usage: `metadataIndexContract('my index', async () => ({ index, cleanup }))` inside a bun test file.
 */
import { afterEach, describe, expect, test } from 'bun:test';
import { digestOf, type Digest } from '../../src/oci/digest.ts';
import { RegistryError } from '../../src/errors.ts';
import { OCI_MANIFEST } from '../../src/oci/media-types.ts';
import type { ManifestRecord, MetadataIndex } from '../../src/storage/types.ts';
import { blobLifecycleContract } from './blob-lifecycle.contract.ts';

/** Makes a fresh, empty index; `cleanup` removes whatever it left behind. */
export type MakeMetadataIndex = () => Promise<{ index: MetadataIndex; cleanup?: () => Promise<void> }>;

const none = { blobs: [], manifests: [] };

function record(text: string, extra: Partial<ManifestRecord> = {}): ManifestRecord {
  const body = new TextEncoder().encode(text);
  return { digest: digestOf(body), mediaType: OCI_MANIFEST, size: body.byteLength, body, ...extra };
}

/** Registers the MetadataIndex contract tests. */
export function metadataIndexContract(name: string, make: MakeMetadataIndex): void {
  describe(`MetadataIndex contract: ${name}`, () => {
    let cleanups: (() => Promise<void>)[] = [];
    const fresh = async () => {
      const { index, cleanup } = await make();
      cleanups.push(async () => {
        await index.close();
        await cleanup?.();
      });
      return index;
    };
    afterEach(async () => {
      for (const c of cleanups) await c();
      cleanups = [];
    });
    blobLifecycleContract(fresh);

    test('blob links are per repository', async () => {
      const index = await fresh();
      const d = digestOf('blob');
      await index.linkBlob('a/one', d);
      expect(await index.hasBlob('a/one', d)).toBe(true);
      expect(await index.hasBlob('a/two', d)).toBe(false);
      expect(await index.findBlobRepository(d)).toBe('a/one');
      expect(await index.findBlobRepository(d, 'a/one')).toBeUndefined();
      expect(await index.unlinkBlob('a/one', d)).toBe(true);
      expect(await index.unlinkBlob('a/one', d)).toBe(false);
      expect(await index.isBlobLinkedAnywhere(d)).toBe(false);
    });

    test('a link keeps the blob size it was made with through refreshes; a link without one can learn it', async () => {
      const index = await fresh();
      const sized = digestOf('sized blob');
      const bare = digestOf('bare blob');
      expect(await index.blobLink('r', sized)).toBeUndefined();
      await index.linkBlob('r', sized, undefined, 1234);
      await index.linkBlob('r', bare);
      expect(await index.blobLink('r', sized)).toEqual({ size: 1234 });
      expect((await index.blobLink('r', bare))?.size).toBeUndefined();
      expect(await index.blobLink('other', sized)).toBeUndefined();
      // Refreshes: a link again without a size, a HEAD's touch, a manifest naming it.
      await index.linkBlob('r', sized);
      expect(await index.touchBlobLink('r', sized, Date.now() + 1000)).toBe(true);
      await index.putManifest('r', record('{"uses":"sized"}'), [], { blobs: [sized], manifests: [] });
      expect(await index.blobLink('r', sized)).toEqual({ size: 1234 });
      expect((await index.listBlobLinks('r')).map((l) => l.digest).sort()).toEqual([sized, bare].sort());
      await index.recordBlobSize?.('r', bare, 99);
      if (index.recordBlobSize) expect(await index.blobLink('r', bare)).toEqual({ size: 99 });
      await index.unlinkBlob('r', sized);
      expect(await index.blobLink('r', sized)).toBeUndefined();
    });

    test('a repository name that prefixes another does not see its links or tags', async () => {
      const index = await fresh();
      const d = digestOf('x');
      await index.linkBlob('repo2', d);
      const m = record('{"m":1}');
      await index.putManifest('repo2', m, ['t'], none);
      expect(await index.hasBlob('repo', d)).toBe(false);
      expect(await index.hasRepository('repo')).toBe(false);
      expect((await index.listTags('repo', { limit: 10 })).items).toEqual([]);
    });

    test('putManifest stores the exact bytes and moves tags in one step', async () => {
      const index = await fresh();
      const m1 = record('{"v":1}');
      const m2 = record('{"v":2}');
      await index.putManifest('r', m1, ['latest', 'v1'], none);
      expect(await index.resolveTag('r', 'latest')).toBe(m1.digest);
      expect(new TextDecoder().decode((await index.getManifest('r', m1.digest))!.body)).toBe('{"v":1}');
      await index.putManifest('r', m2, ['latest'], none);
      expect(await index.resolveTag('r', 'latest')).toBe(m2.digest);
      expect(await index.tagsOf('r', m1.digest)).toEqual(['v1']);
      expect(await index.tagsOf('r', m2.digest)).toEqual(['latest']);
    });

    test('putManifest refuses missing blobs and child manifests and writes nothing', async () => {
      const index = await fresh();
      const blob = digestOf('layer');
      const child = record('{"child":true}');
      const m = record('{"parent":true}');
      const error = await index.putManifest('r', m, ['t'], { blobs: [blob], manifests: [child.digest] }).then(() => undefined, (e) => e);
      expect(error).toBeInstanceOf(RegistryError);
      expect((error as RegistryError).code).toBe('MANIFEST_BLOB_UNKNOWN');
      expect(await index.getManifest('r', m.digest)).toBeUndefined();
      expect(await index.resolveTag('r', 't')).toBeUndefined();
      await index.linkBlob('r', blob);
      await index.putManifest('r', child, [], none);
      await index.putManifest('r', m, ['t'], { blobs: [blob], manifests: [child.digest] });
      expect(await index.resolveTag('r', 't')).toBe(m.digest);
    });

    test('deleteManifest removes its tags and referrer edge; deleteTag keeps the manifest', async () => {
      const index = await fresh();
      const subject = digestOf('subject');
      const m = record('{"ref":1}', { subject, artifactType: 'application/x.sig' });
      await index.putManifest('r', m, ['a', 'b'], none);
      expect((await index.listReferrers('r', subject)).map((d) => d.digest)).toEqual([m.digest]);
      expect(await index.deleteTag('r', 'a')).toBe(true);
      expect(await index.deleteTag('r', 'a')).toBe(false);
      expect(await index.getManifest('r', m.digest)).toBeDefined();
      expect(await index.deleteManifest('r', m.digest)).toBe(true);
      expect(await index.resolveTag('r', 'b')).toBeUndefined();
      expect(await index.listReferrers('r', subject)).toEqual([]);
      expect(await index.deleteManifest('r', m.digest)).toBe(false);
    });

    test('tags list in byte order with last/limit pagination', async () => {
      const index = await fresh();
      const m = record('{"tags":1}');
      const tags = ['b', 'A', 'a', '1.0', '1.0-rc', 'Z', '_x', 'z'];
      await index.putManifest('r', m, tags, none);
      const sorted = [...tags].sort();
      expect(await index.listTags('r', { limit: 100 })).toEqual({ items: sorted, more: false });
      const first = (await index.listTags('r', { limit: 3 }));
      expect(first).toEqual({ items: sorted.slice(0, 3), more: true });
      expect((await index.listTags('r', { last: first.items[2], limit: 100 })).items).toEqual(sorted.slice(3));
      expect(await index.listTags('r', { last: 'zz', limit: 100 })).toEqual({ items: [], more: false });
      expect(await index.listTags('r', { limit: 0 })).toEqual({ items: [], more: true });
    });

    test('referrers are per subject, carry artifactType and annotations, and filter by artifactType', async () => {
      const index = await fresh();
      const subject = digestOf('image');
      const sig = record('{"sig":1}', { subject, artifactType: 'application/x.sig', annotations: { k: 'v' } });
      const sbom = record('{"sbom":1}', { subject, artifactType: 'application/x.sbom' });
      const other = record('{"other":1}', { subject: digestOf('another'), artifactType: 'application/x.sig' });
      for (const m of [sig, sbom, other]) await index.putManifest('r', m, [], none);
      const all = (await index.listReferrers('r', subject));
      expect(all.map((d) => d.digest).sort()).toEqual([sig.digest, sbom.digest].sort());
      const onlySig = (await index.listReferrers('r', subject, 'application/x.sig'));
      expect(onlySig).toEqual([{ mediaType: OCI_MANIFEST, digest: sig.digest, size: sig.size, artifactType: 'application/x.sig', annotations: { k: 'v' } }]);
      expect(await index.listReferrers('other-repo', subject)).toEqual([]);
    });

    test('a tag page read before a tag write shows the write at once, and changing a returned page changes nothing', async () => {
      const index = await fresh();
      const m = record('{"page":1}');
      await index.putManifest('r', m, ['a', 'c'], none);
      const before = (await index.listTags('r', { limit: 10 }));
      expect(before.items).toEqual(['a', 'c']);
      before.items.push('zzz');
      expect((await index.listTags('r', { limit: 10 })).items).toEqual(['a', 'c']);
      await index.putManifest('r', m, ['b'], none);
      expect((await index.listTags('r', { limit: 10 })).items).toEqual(['a', 'b', 'c']);
      await index.deleteTag('r', 'a');
      expect((await index.listTags('r', { limit: 10 })).items).toEqual(['b', 'c']);
      await index.deleteManifest('r', m.digest);
      expect(await index.listTags('r', { limit: 10 })).toEqual({ items: [], more: false });
    });

    test('referrer lists page by digest after a cursor, per artifact type, and show writes at once', async () => {
      const index = await fresh();
      const subject = digestOf('paged subject');
      const type = (i: number) => (i % 3 === 0 ? 'application/x.sig' : 'application/x.sbom');
      const made = Array.from({ length: 12 }, (_, i) => record(`{"ref":${i}}`, { subject, artifactType: type(i) }));
      for (const m of made.slice(0, 11)) await index.putManifest('r', m, [], none);
      const digests = (list: readonly { digest: Digest }[]) => list.map((d) => d.digest);
      const sigs = made.slice(0, 11).filter((_, i) => type(i) === 'application/x.sig').map((m) => m.digest).sort();
      const all = made.slice(0, 11).map((m) => m.digest).sort();
      // An implementation may ignore the window (the core trims), but what it returns starts in the right place.
      const window = (list: readonly { digest: Digest }[], after: Digest, limit: number) => digests(list).filter((d) => d > after).slice(0, limit);
      expect(window((await index.listReferrers('r', subject, undefined, { after: all[3], limit: 4 })), all[3]!, 4)).toEqual(all.slice(4, 8));
      expect(window((await index.listReferrers('r', subject, 'application/x.sig', { after: sigs[0], limit: 2 })), sigs[0]!, 2)).toEqual(sigs.slice(1, 3));
      expect(digests((await index.listReferrers('r', subject, 'application/x.sig')))).toEqual(sigs);
      expect(await index.listReferrers('r', subject, 'application/x.none')).toEqual([]);
      // A listing read before a write must not hide the write (read caches are cleared by it).
      await index.putManifest('r', made[11]!, [], none);
      expect(digests((await index.listReferrers('r', subject, 'application/x.sbom')))).toContain(made[11]!.digest);
      await index.deleteManifest('r', sigs[0]!);
      expect(digests((await index.listReferrers('r', subject, 'application/x.sig')))).toEqual(sigs.slice(1));
      expect(digests((await index.listReferrers('r', subject)))).not.toContain(sigs[0]);
    });

    test('repositories are listed in order with pagination, and emptied ones disappear', async () => {
      const index = await fresh();
      const d = digestOf('shared');
      for (const r of ['b/x', 'a', 'c']) await index.linkBlob(r, d);
      expect((await index.listRepositories({ limit: 10 })).items).toEqual(['a', 'b/x', 'c']);
      expect(await index.listRepositories({ limit: 1 })).toEqual({ items: ['a'], more: true });
      expect((await index.listRepositories({ last: 'a', limit: 10 })).items).toEqual(['b/x', 'c']);
      await index.unlinkBlob('b/x', d);
      expect(await index.hasRepository('b/x')).toBe(false);
      expect((await index.listRepositories({ limit: 10 })).items).toEqual(['a', 'c']);
    });

    test('lists a repository\'s blob links with their link time, and its manifest digests, in digest order', async () => {
      const index = await fresh();
      const before = Date.now();
      const [a, b] = [digestOf('link a'), digestOf('link b')].sort() as [Digest, Digest];
      await index.linkBlob('r', b);
      await index.linkBlob('r', a);
      await index.linkBlob('r2', a);
      const links = (await index.listBlobLinks('r'));
      expect(links.map((l) => l.digest)).toEqual([a, b]);
      for (const l of links) expect(l.linkedAt).toBeGreaterThanOrEqual(before);
      const [m1, m2] = [record('{"one":1}'), record('{"two":2}')].sort((x, y) => (x.digest < y.digest ? -1 : 1)) as [ManifestRecord, ManifestRecord];
      await index.putManifest('r', m2, [], none);
      await index.putManifest('r', m1, [], none);
      expect(await index.listManifestDigests('r')).toEqual([m1.digest, m2.digest]);
      expect(await index.listManifestDigests('r2')).toEqual([]);
      expect(await index.listBlobLinks('nothing')).toEqual([]);
    });

    test('concurrent manifest puts to one tag leave the tag on one of them, consistently indexed', async () => {
      const index = await fresh();
      const ms = Array.from({ length: 20 }, (_, i) => record(`{"n":${i}}`));
      await Promise.all(ms.map((m) => index.putManifest('r', m, ['race'], none)));
      const winner = (await index.resolveTag('r', 'race')) as Digest;
      expect(ms.map((m) => m.digest)).toContain(winner);
      const tagged: ManifestRecord[] = [];
      for (const m of ms) if ((await index.tagsOf('r', m.digest)).includes('race')) tagged.push(m);
      expect(tagged.map((m) => m.digest)).toEqual([winner]);
    });
  });
}
