/**
 * The library's OCI client against real registries over HTTP: Marina (with and without the referrers API) and
 * CNCF Distribution 2.8, which has no referrers API, so the client's tag-schema fallback is exercised for real.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { RegistryClient } from '../../src/client/index.ts';
import { referrersTag } from '../../src/client/referrers-tag.ts';
import { createLogger } from '../../src/logger.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { OCI_EMPTY, OCI_MANIFEST } from '../../src/oci/media-types.ts';
import { createRegistry } from '../../src/registry.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import { startDistribution, type DistributionServer } from '../support/distribution.ts';

const enc = (s: string) => new TextEncoder().encode(s);

interface Target {
  url: string;
  stop(): Promise<void>;
}

async function startMarina(options: { referrersEnabled?: boolean } = {}): Promise<Target> {
  const registry = createRegistry({ storage: memoryStorage(), logger: createLogger('silent'), ...options });
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: registry.fetch });
  return {
    url: `http://127.0.0.1:${server.port}`,
    async stop() {
      await server.stop(true);
      await registry.close();
    },
  };
}

function imageManifest(config: Uint8Array, layers: Uint8Array[], extra: Record<string, unknown> = {}): Uint8Array {
  return enc(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.byteLength },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(l), size: l.byteLength })),
      ...extra,
    }),
  );
}

const targets: [string, () => Promise<Target>, boolean][] = [
  ['Marina', () => startMarina(), true],
  ['Marina without the referrers API', () => startMarina({ referrersEnabled: false }), false],
  ['CNCF Distribution 2.8 (docker-registry)', async () => startDistribution() as Promise<DistributionServer>, false],
];

for (const [name, start, hasReferrersApi] of targets) {
  describe(`client against ${name}`, () => {
    let target: Target;
    let client: RegistryClient;
    beforeAll(async () => {
      target = await start();
      client = new RegistryClient({ registry: target.url });
    });
    afterAll(async () => target?.stop());

    test('pings the registry', async () => {
      expect(await client.ping()).toBe(true);
    });

    test('pushes blobs monolithically, in chunks and as a stream, and reads them back', async () => {
      const mono = enc('monolithic blob');
      await client.pushBlob('lib/blobs', mono, digestOf(mono));
      const chunked = enc('x'.repeat(10_000));
      await client.pushBlob('lib/blobs', chunked, digestOf(chunked), { chunkSize: 3000 });
      const streamed = enc('streamed blob body');
      await client.pushBlob('lib/blobs', new Blob([streamed]).stream(), digestOf(streamed));
      for (const bytes of [mono, chunked, streamed]) {
        expect(await client.headBlob('lib/blobs', digestOf(bytes))).toBe(bytes.byteLength);
        const res = await client.getBlob('lib/blobs', digestOf(bytes));
        expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
      }
      const part = await client.getBlob('lib/blobs', digestOf(mono), { range: { start: 3, end: 6 } });
      expect(part.status).toBe(206);
      expect(await part.text()).toBe('olit');
      expect(await client.headBlob('lib/blobs', digestOf('absent'))).toBeUndefined();
    });

    test('mounts a blob from another repository', async () => {
      const bytes = enc('mount me');
      await client.pushBlob('lib/source', bytes, digestOf(bytes));
      expect(await client.mountBlob('lib/target', digestOf(bytes), 'lib/source')).toBe(true);
      expect(await client.headBlob('lib/target', digestOf(bytes))).toBe(bytes.byteLength);
    });

    test('pushes a manifest by tag, reads it by tag and digest, and lists tags with pagination', async () => {
      const config = enc('{}');
      const layer = enc('layer bytes');
      await client.pushBlob('lib/app', config, digestOf(config));
      await client.pushBlob('lib/app', layer, digestOf(layer));
      const manifest = imageManifest(config, [layer]);
      const { digest } = await client.putManifest('lib/app', 'v1', manifest, OCI_MANIFEST);
      expect(digest).toBe(digestOf(manifest));
      for (const tag of ['v2', 'v3', 'latest']) await client.putManifest('lib/app', tag, manifest, OCI_MANIFEST);
      const byTag = await client.getManifest('lib/app', 'v1');
      expect(byTag?.body).toEqual(manifest);
      expect(byTag?.mediaType).toBe(OCI_MANIFEST);
      expect((await client.headManifest('lib/app', digest))?.size).toBe(manifest.byteLength);
      expect(await client.listTags('lib/app', { pageSize: 2 })).toEqual(['latest', 'v1', 'v2', 'v3']);
      expect(await client.deleteManifest('lib/app', digest)).toBe(true);
      expect(await client.getManifest('lib/app', 'v1')).toBeUndefined();
    });

    test(`discovers referrers ${hasReferrersApi ? 'through the referrers API' : 'through the tag-schema fallback'}, filters them, and forgets deleted ones`, async () => {
      const repo = 'lib/signed';
      const config = enc('{"architecture":"amd64","os":"linux"}');
      await client.pushBlob(repo, config, digestOf(config));
      const image = imageManifest(config, []);
      const { digest: subject } = await client.putManifest(repo, 'image', image, OCI_MANIFEST);
      const empty = enc('{}');
      await client.pushBlob(repo, empty, digestOf(empty));
      const artifact = (type: string, note: string) =>
        enc(JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: type,
          config: { mediaType: OCI_EMPTY, digest: digestOf(empty), size: 2 },
          layers: [],
          subject: { mediaType: OCI_MANIFEST, digest: subject, size: image.byteLength },
          annotations: { note },
        }));
      const sig = artifact('application/vnd.example.signature', 'sig');
      const sbom = artifact('application/vnd.example.sbom', 'sbom');
      const sigPush = await client.putManifest(repo, digestOf(sig), sig, OCI_MANIFEST);
      await client.putManifest(repo, digestOf(sbom), sbom, OCI_MANIFEST);
      expect(sigPush.subjectHandled).toBe(true);

      const all = await client.listReferrers(repo, subject);
      expect(all.map((d) => d.digest).sort()).toEqual([digestOf(sig), digestOf(sbom)].sort());
      const sigEntry = all.find((d) => d.digest === digestOf(sig))!;
      expect(sigEntry).toMatchObject({ mediaType: OCI_MANIFEST, size: sig.byteLength, artifactType: 'application/vnd.example.signature', annotations: { note: 'sig' } });
      const onlySbom = await client.listReferrers(repo, subject, { artifactType: 'application/vnd.example.sbom' });
      expect(onlySbom.map((d) => d.digest)).toEqual([digestOf(sbom)]);

      // The fallback index exists exactly when the registry lacks the API.
      const fallbackTag = await client.getManifest(repo, referrersTag(subject));
      expect(fallbackTag !== undefined).toBe(!hasReferrersApi);
      expect(await client.hasReferrersApi(repo)).toBe(hasReferrersApi);

      expect(await client.deleteManifest(repo, digestOf(sig))).toBe(true);
      expect((await client.listReferrers(repo, subject)).map((d) => d.digest)).toEqual([digestOf(sbom)]);
    });
  });
}

describe('client authentication', () => {
  let server: ReturnType<typeof Bun.serve>;
  let url: string;
  const tokenRequests: string[] = [];
  beforeAll(() => {
    const registry = createRegistry({
      storage: memoryStorage(),
      logger: createLogger('silent'),
      authorize: ({ request }) => {
        if (request.headers.get('authorization') === 'Bearer good-token') return { allow: true };
        return { allow: false, challenge: `Bearer realm="${url}/token",service="marina-test"` };
      },
    });
    server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch(request) {
        const u = new URL(request.url);
        if (u.pathname === '/token') {
          tokenRequests.push(`${u.searchParams.get('service')} ${u.searchParams.getAll('scope').join(' ')} ${request.headers.get('authorization') ?? ''}`);
          const ok = request.headers.get('authorization') === `Basic ${btoa('alice:secret')}`;
          return ok ? Response.json({ token: 'good-token', expires_in: 300 }) : new Response('no', { status: 401 });
        }
        return registry.fetch(request);
      },
    });
    url = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server?.stop(true));

  test('answers a Bearer challenge with a token fetched using the credentials, then reuses it', async () => {
    const client = new RegistryClient({ registry: url, credentials: { username: 'alice', password: 'secret' } });
    const bytes = enc('authenticated');
    await client.pushBlob('auth/repo', bytes, digestOf(bytes));
    expect(await client.headBlob('auth/repo', digestOf(bytes))).toBe(bytes.byteLength);
    expect(tokenRequests[0]).toBe(`marina-test repository:auth/repo:pull,push Basic ${btoa('alice:secret')}`);
    const before = tokenRequests.length;
    await client.pushBlob('auth/repo', bytes, digestOf(bytes));
    expect(tokenRequests.length).toBe(before);
  });

  test('without credentials the token is refused and the 401 is reported', async () => {
    const client = new RegistryClient({ registry: url });
    expect(await client.ping()).toBe(false);
    await expect(client.headBlob('auth/repo', digestOf('x'))).rejects.toMatchObject({ status: 401 });
  });
});
