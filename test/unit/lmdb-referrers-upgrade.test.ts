import { afterEach, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { open } from 'lmdb';
import { digestOf } from '../../src/oci/digest.ts';
import { OCI_MANIFEST } from '../../src/oci/media-types.ts';
import { LmdbIndex } from '../../src/storage/lmdb-index.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

test('referrer edges stored by an older Marina (one msgpack table) are listed, filtered and deletable after an upgrade', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-referrers-upgrade-'));
  dirs.push(dir);
  const subject = digestOf('subject');
  const sig = { mediaType: OCI_MANIFEST, digest: digestOf('sig'), size: 3, artifactType: 'application/x.sig', annotations: { k: 'v' } };
  const sbom = { mediaType: OCI_MANIFEST, digest: digestOf('sbom'), size: 4, artifactType: 'application/x.sbom' };
  // The layout before the by-type table: [repository, subject, digest] → descriptor, lmdb's default encoding.
  const old = open({ path: path.join(dir, 'index.mdb'), maxDbs: 16 });
  const legacy = old.openDB<object, string[]>({ name: 'referrers' });
  await legacy.put(['r', subject, sig.digest], sig);
  await legacy.put(['r', subject, sbom.digest], sbom);
  await old.close();

  const index = new LmdbIndex({ dir });
  try {
    expect(index.listReferrers('r', subject).map((d) => d.digest).sort()).toEqual([sig.digest, sbom.digest].sort());
    expect(index.listReferrers('r', subject, 'application/x.sig')).toEqual([sig]);
    // The manifest itself was stored too by the old version; deleting it removes the moved edge.
    const body = new TextEncoder().encode('sig');
    await index.putManifest('r', { digest: sig.digest, mediaType: OCI_MANIFEST, size: 3, body, subject, artifactType: 'application/x.sig' }, [], { blobs: [], manifests: [] });
    await index.deleteManifest('r', sig.digest);
    expect(index.listReferrers('r', subject, 'application/x.sig')).toEqual([]);
    expect(index.listReferrers('r', subject).map((d) => d.digest)).toEqual([sbom.digest]);
  } finally {
    await index.close();
  }
  // Moved once: a second open finds the same edges, not doubled ones.
  const again = new LmdbIndex({ dir });
  expect(again.listReferrers('r', subject).map((d) => d.digest)).toEqual([sbom.digest]);
  await again.close();
});
