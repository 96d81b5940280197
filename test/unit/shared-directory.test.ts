/**
 * Two stores on one data directory, as two `serve --workers` processes see it: an upload session and the index read
 * cache must follow what the other one wrote.
 */
import { afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../src/storage/fs-blob-store.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { LmdbIndex } from '../../src/storage/lmdb-index.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-shared-'));
  dirs.push(d);
  return d;
}
const bytes = (s: string) => new TextEncoder().encode(s);

describe('an upload session shared by two processes', () => {
  test('a store that served earlier chunks continues after chunks the other store appended', async () => {
    const root = tempDir();
    const a = new FsBlobStore({ root, sync: false });
    const b = new FsBlobStore({ root, sync: false });
    const session = await a.startUpload();
    await session.append(bytes('first-'));
    const other = await b.resumeUpload(session.id);
    await other!.append(bytes('second-'));
    const again = await a.resumeUpload(session.id);
    expect(again!.size).toBe(13);
    await again!.append(bytes('third'));
    const expected = digestOf(bytes('first-second-third'), 'sha256');
    expect((await again!.commit(expected)).size).toBe(18);
    expect(await Bun.file(a.blobPath(expected)).text()).toBe('first-second-third');
  });

  test('a session the other store finished is unknown here', async () => {
    const root = tempDir();
    const a = new FsBlobStore({ root, sync: false });
    const b = new FsBlobStore({ root, sync: false });
    const session = await a.startUpload();
    await session.append(bytes('all'));
    await (await b.resumeUpload(session.id))!.commit(digestOf(bytes('all'), 'sha256'));
    expect(await a.resumeUpload(session.id)).toBeUndefined();
  });

  test('a session nobody else touched is reused without re-reading the file', async () => {
    const root = tempDir();
    const a = new FsBlobStore({ root, sync: false });
    const session = await a.startUpload();
    await session.append(bytes('x'));
    expect(await a.resumeUpload(session.id)).toBe(session);
  });
});

describe('an index shared by two processes', () => {
  const none = { blobs: [], manifests: [] };
  const record = (text: string) => {
    const body = bytes(text);
    return { digest: digestOf(body), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: body.byteLength, body };
  };

  test('a cached tag and manifest follow a write by the other index at once', async () => {
    const dir = tempDir();
    const here = new LmdbIndex({ dir, shared: true });
    const other = new LmdbIndex({ dir });
    try {
      const first = record('{"v":1}');
      const second = record('{"v":2}');
      await here.putManifest('r', first, ['t'], none);
      await here.putManifest('r', second, [], none);
      expect(here.resolveTag('r', 't')).toBe(first.digest);
      expect(here.getManifest('r', first.digest)?.digest).toBe(first.digest);
      await other.putManifest('r', second, ['t'], none);
      await other.deleteManifest('r', first.digest);
      // What a server sharing the index does at the start of each request.
      here.refresh();
      expect(here.resolveTag('r', 't')).toBe(second.digest);
      expect(here.getManifest('r', first.digest)).toBeUndefined();
    } finally {
      await other.close();
      await here.close();
    }
  });
});
