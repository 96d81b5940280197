/**
 * oras against a real Marina: push an artifact with --artifact-type, attach referrers to an image, discover them and
 * pull them back — once with the referrers API, once against `--no-referrers`, where oras must fall back to the
 * referrers tag schema (distribution-spec "Referrers Tag Schema": an index tagged `sha256-<hex>` of the subject).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ARTIFACT_TYPE, MEDIA, SIGNATURE_TYPE, type Fixtures } from '../fixtures/make-images.ts';
import { getBlob, getFixtures, getManifest, removeTempDirs, run, sameBytes, sha256, startMarina, tempDir, tool, versionOf, HOOK_TIMEOUT_MS, type Marina } from './harness.ts';

let fx: Fixtures;
let work: string;

beforeAll(() => {
  fx = getFixtures();
  work = tempDir('oras');
}, HOOK_TIMEOUT_MS);

afterAll(() => {
  removeTempDirs();
});

function oras(args: string[], cwd?: string) {
  // A private HOME: oras reads credentials from ~/.docker/config.json.
  return run([tool('oras'), ...args], { env: { HOME: work, DOCKER_CONFIG: work }, cwd: cwd ?? work });
}

/** The `Digest: sha256:...` line oras prints after a push. */
function printedDigest(stdout: string): string {
  const m = /^Digest: (sha256:[0-9a-f]{64})$/m.exec(stdout);
  if (!m) throw new Error(`no digest in oras output:\n${stdout}`);
  return m[1]!;
}

interface Referrer {
  digest: string;
  mediaType: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

describe('oras', () => {
  test('is installed', async () => {
    console.log(`oras: ${await versionOf([tool('oras'), 'version'])}`);
  });
});

for (const referrersApi of [true, false]) {
  describe(referrersApi ? 'oras with the referrers API' : 'oras against --no-referrers (tag schema fallback)', () => {
    let marina: Marina;
    let signature = '';
    const ref = (r: string) => `${marina.host}/${r}`;
    const subject = () => fx.image.manifest.digest;
    const fallbackTag = () => subject().replace(':', '-');

    beforeAll(async () => {
      marina = await startMarina({ referrers: referrersApi });
    }, HOOK_TIMEOUT_MS);
    afterAll(async () => {
      await marina?.stop();
    }, HOOK_TIMEOUT_MS);

    test('push stores an artifact with its artifactType and pulls it back', async () => {
      const pushed = await oras(['push', '--plain-http', '--artifact-type', ARTIFACT_TYPE, ref('oras/artifact:v1'), 'artifact.txt:text/plain'], path.dirname(fx.artifact.payload.path));
      const digest = printedDigest(pushed.stdout);
      const served = await getManifest(marina, 'oras/artifact', 'v1');
      expect(served.digest).toBe(digest);
      expect(served.contentType).toBe(MEDIA.ociManifest);
      expect(served.json.artifactType).toBe(ARTIFACT_TYPE);
      expect(served.json.config.mediaType).toBe(MEDIA.ociEmpty);
      expect(served.json.layers).toHaveLength(1);
      expect(served.json.layers[0].digest).toBe(fx.artifact.payload.digest);
      expect(served.json.layers[0].annotations['org.opencontainers.image.title']).toBe('artifact.txt');
      expect(sha256(await getBlob(marina, 'oras/artifact', served.json.config.digest))).toBe(served.json.config.digest);

      const fetched = await oras(['manifest', 'fetch', '--plain-http', ref('oras/artifact:v1')]);
      expect(sha256(fetched.stdout)).toBe(digest);

      const out = path.join(work, `pull-artifact-${referrersApi}`);
      await oras(['pull', '--plain-http', '-o', out, ref('oras/artifact:v1')]);
      expect(sameBytes(new Uint8Array(fs.readFileSync(path.join(out, 'artifact.txt'))), new Uint8Array(fs.readFileSync(fx.artifact.payload.path)))).toBe(true);
    });

    test('cp from an OCI layout pushes an image unchanged', async () => {
      const copied = await oras(['cp', '--from-oci-layout', '--to-plain-http', `${fx.layouts.image}:latest`, ref('oras/image:v1')]);
      expect(printedDigest(copied.stdout)).toBe(subject());
      expect((await getManifest(marina, 'oras/image', 'v1')).digest).toBe(subject());
    });

    test('attach adds a referrer to the image', async () => {
      const attached = await oras(
        ['attach', '--plain-http', '--artifact-type', SIGNATURE_TYPE, '--annotation', 'test.marina=attached', ref('oras/image:v1'), `signature.json:${SIGNATURE_TYPE}`],
        path.dirname(fx.signature.payload.path),
      );
      signature = printedDigest(attached.stdout);
      const served = await getManifest(marina, 'oras/image', signature);
      expect(served.json.subject.digest).toBe(subject());
      expect(served.json.artifactType).toBe(SIGNATURE_TYPE);
      expect(served.json.layers[0].digest).toBe(fx.signature.payload.digest);
    });

    if (referrersApi) {
      test('the referrers API lists it (and no fallback tag was written)', async () => {
        const res = await marina.fetch(`/v2/oras/image/referrers/${subject()}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe(MEDIA.ociIndex);
        const index = (await res.json()) as { manifests: Referrer[] };
        expect(index.manifests).toEqual([
          expect.objectContaining({ digest: signature, mediaType: MEDIA.ociManifest, artifactType: SIGNATURE_TYPE, annotations: expect.objectContaining({ 'test.marina': 'attached' }) }),
        ]);
        const filtered = await marina.fetch(`/v2/oras/image/referrers/${subject()}?artifactType=${encodeURIComponent(ARTIFACT_TYPE)}`);
        expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
        expect(((await filtered.json()) as { manifests: Referrer[] }).manifests).toEqual([]);
        const tags = (await (await marina.fetch('/v2/oras/image/tags/list')).json()) as { tags: string[] };
        expect(tags.tags).toEqual(['v1']);
      });
    } else {
      test('the referrers API answers 404 and oras kept a sha256-<hex> tag index instead', async () => {
        expect((await marina.fetch(`/v2/oras/image/referrers/${subject()}`)).status).toBe(404);
        const tags = (await (await marina.fetch('/v2/oras/image/tags/list')).json()) as { tags: string[] };
        expect(tags.tags).toEqual([fallbackTag(), 'v1']);
        const index = await getManifest(marina, 'oras/image', fallbackTag());
        expect(index.contentType).toBe(MEDIA.ociIndex);
        expect(index.json.manifests).toEqual([expect.objectContaining({ digest: signature, artifactType: SIGNATURE_TYPE })]);
      });
    }

    test('discover finds the referrer', async () => {
      const found = JSON.parse((await oras(['discover', '--plain-http', '--format', 'json', ref('oras/image:v1')])).stdout) as { digest: string; referrers: Referrer[] };
      expect(found.digest).toBe(subject());
      expect(found.referrers.map((r) => [r.digest, r.artifactType])).toEqual([[signature, SIGNATURE_TYPE]]);
      const none = JSON.parse((await oras(['discover', '--plain-http', '--format', 'json', '--artifact-type', ARTIFACT_TYPE, ref('oras/image:v1')])).stdout) as { referrers: Referrer[] };
      expect(none.referrers ?? []).toEqual([]);
    });

    test('pull of the referrer returns the attached file', async () => {
      const out = path.join(work, `pull-signature-${referrersApi}`);
      await oras(['pull', '--plain-http', '-o', out, `${ref('oras/image')}@${signature}`]);
      expect(sameBytes(new Uint8Array(fs.readFileSync(path.join(out, 'signature.json'))), new Uint8Array(fs.readFileSync(fx.signature.payload.path)))).toBe(true);
    });

    test('a second referrer (copied from an OCI layout, subject included) is discovered alongside the first', async () => {
      await oras(['cp', '--from-oci-layout', '--to-plain-http', `${fx.layouts.signature}:latest`, ref('oras/image:fixture-sig')]);
      expect((await getManifest(marina, 'oras/image', 'fixture-sig')).digest).toBe(fx.signature.manifest.digest);
      const found = JSON.parse((await oras(['discover', '--plain-http', '--format', 'json', ref('oras/image:v1')])).stdout) as { referrers: Referrer[] };
      expect(found.referrers.map((r) => r.digest).sort()).toEqual([signature, fx.signature.manifest.digest].sort());
      if (!referrersApi) {
        const index = await getManifest(marina, 'oras/image', fallbackTag());
        expect((index.json.manifests as Referrer[]).map((m) => m.digest).sort()).toEqual([signature, fx.signature.manifest.digest].sort());
      }
    });

    test('the registry logged no unexpected errors', () => {
      expect(marina.errors()).toEqual([]);
    });
  });
}
