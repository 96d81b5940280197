/**
 * The MetadataIndex contract, part two: what lets several processes add and remove blobs safely (holds, deletion
 * claims, link times, repository generations). Registered by {@link metadataIndexContract}.
 */
import { describe, expect, test } from 'bun:test';
import { digestOf, type Digest } from '../../src/oci/digest.ts';
import { OCI_MANIFEST } from '../../src/oci/media-types.ts';
import type { ManifestRecord, MetadataIndex } from '../../src/storage/types.ts';

const none = { blobs: [], manifests: [] };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function record(text: string): ManifestRecord {
  const body = new TextEncoder().encode(text);
  return { digest: digestOf(body), mediaType: OCI_MANIFEST, size: body.byteLength, body };
}

async function linkedAt(index: MetadataIndex, repository: string, digest: Digest): Promise<number | undefined> {
  return (await index.listBlobLinks(repository)).find((l) => l.digest === digest)?.linkedAt;
}

/** Registers the blob lifecycle tests (inside a contract's describe); `fresh` makes an empty index the caller cleans up. */
export function blobLifecycleContract(fresh: () => Promise<MetadataIndex>): void {
  describe('blob lifecycle', () => {
    test('a deletion claim is granted only for a blob that no repository links and nobody holds', async () => {
      const index = await fresh();
      const d = digestOf('claimed');
      await index.linkBlob('r', d);
      expect(await index.claimBlobDeletion(d, 60_000)).toBeUndefined();
      await index.unlinkBlob('r', d);
      const hold = (await index.holdBlob(d, 60_000))!;
      expect(hold).toBeString();
      expect(await index.claimBlobDeletion(d, 60_000)).toBeUndefined();
      await index.releaseBlob(d, hold);
      expect(await index.claimBlobDeletion(d, 60_000)).toBeString();
    });

    test('while a deletion is claimed, holds and plain links are refused; once released they are granted', async () => {
      const index = await fresh();
      const d = digestOf('being deleted');
      const claim = (await index.claimBlobDeletion(d, 60_000))!;
      expect(await index.holdBlob(d, 60_000)).toBeUndefined();
      expect(await index.linkBlob('r', d)).toBe(false);
      expect(await index.hasBlob('r', d)).toBe(false);
      await index.releaseBlob(d, claim);
      const hold = (await index.holdBlob(d, 60_000))!;
      expect(await index.linkBlob('r', d, hold)).toBe(true);
      expect(await index.hasBlob('r', d)).toBe(true);
      // The link consumed the hold: nothing but the link now stands in the way of a claim.
      await index.unlinkBlob('r', d);
      expect(await index.claimBlobDeletion(d, 60_000)).toBeString();
    });

    test('expired holds and claims count for nothing, and a link with a hold a claim overtook is refused', async () => {
      const index = await fresh();
      const d = digestOf('expiring');
      const claim = (await index.claimBlobDeletion(d, 1))!;
      await sleep(5);
      const stale = (await index.holdBlob(d, 1))!;
      expect(stale).toBeString();
      await sleep(5);
      expect(await index.claimBlobDeletion(d, 60_000)).toBeString();
      expect(await index.linkBlob('r', d, stale)).toBe(false);
      expect(await index.hasBlob('r', d)).toBe(false);
      await index.releaseBlob(d, claim); // releasing an expired claim is harmless
    });

    test('linking again and touching refresh the link time; touching reports whether the blob is linked', async () => {
      const index = await fresh();
      const d = digestOf('touched');
      expect(await index.touchBlobLink('r', d, Date.now())).toBe(false);
      expect(await index.hasBlob('r', d)).toBe(false);
      await index.linkBlob('r', d);
      const first = (await linkedAt(index, 'r', d))!;
      await sleep(5);
      expect(await index.touchBlobLink('r', d, first)).toBe(true);
      expect(await linkedAt(index, 'r', d)).toBe(first);
      expect(await index.touchBlobLink('r', d, first + 1)).toBe(true);
      const touched = (await linkedAt(index, 'r', d))!;
      expect(touched).toBeGreaterThan(first);
      await sleep(5);
      await index.linkBlob('r', d);
      expect((await linkedAt(index, 'r', d))!).toBeGreaterThan(touched);
    });

    test('putManifest advances the generation and refreshes the links it requires; a refused put changes neither', async () => {
      const index = await fresh();
      const [used, other] = [digestOf('used layer'), digestOf('other layer')];
      await index.linkBlob('r', used);
      await index.linkBlob('r', other);
      const [usedAt, otherAt] = [(await linkedAt(index, 'r', used))!, (await linkedAt(index, 'r', other))!];
      expect(await index.repositoryGeneration('r')).toBe(0);
      await sleep(5);
      await index.putManifest('r', record('{"uses":1}'), ['t'], { blobs: [used], manifests: [] });
      expect(await index.repositoryGeneration('r')).toBe(1);
      expect(await index.repositoryGeneration('elsewhere')).toBe(0);
      expect((await linkedAt(index, 'r', used))!).toBeGreaterThan(usedAt);
      expect(await linkedAt(index, 'r', other)).toBe(otherAt);
      await expect(index.putManifest('r', record('{"uses":2}'), [], { blobs: [used, digestOf('missing')], manifests: [] })).rejects.toThrow();
      expect(await index.repositoryGeneration('r')).toBe(1);
    });

    test('a conditional unlink removes a link only when older than the cutoff and no manifest was stored since', async () => {
      const index = await fresh();
      const d = digestOf('candidate');
      await index.linkBlob('r', d);
      const at = (await linkedAt(index, 'r', d))!;
      const generation = (await index.repositoryGeneration('r'));
      expect(await index.unlinkBlob('r', d, { linkedBefore: at, generation })).toBe(false);
      await index.putManifest('r', record('{"arrived":1}'), [], none);
      expect(await index.unlinkBlob('r', d, { linkedBefore: at + 1, generation })).toBe(false);
      expect(await index.hasBlob('r', d)).toBe(true);
      expect(await index.unlinkBlob('r', d, { linkedBefore: at + 1, generation: (await index.repositoryGeneration('r')) })).toBe(true);
      expect(await index.hasBlob('r', d)).toBe(false);
      expect(await index.unlinkBlob('r', d, { linkedBefore: Date.now() + 1, generation: (await index.repositoryGeneration('r')) })).toBe(false);
    });
  });
}
