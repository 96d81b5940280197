/** Each example under examples/ starts as a real process and serves pushes and pulls through its host. */
import { afterAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RegistryClient } from '../../src/client/index.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { OCI_MANIFEST } from '../../src/oci/media-types.ts';
import { CountingBlobStore } from '../../examples/counting-blob-store/counting-blob-store.ts';
import { MemoryBlobStore } from '../../src/storage/memory.ts';
import { blobStoreContract } from '../contracts/blob-store.contract.ts';
import { freePort, waitForHttp } from '../support/process.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const cleanups: (() => void | Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-example-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startExample(file: string, env: Record<string, string> = {}): Promise<string> {
  const port = await freePort();
  const proc = Bun.spawn([process.execPath, file], { env: { ...process.env, PORT: String(port), ...env }, stdout: 'pipe', stderr: 'pipe' });
  cleanups.push(async () => {
    proc.kill('SIGTERM');
    await proc.exited;
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/v2/`, proc, 15_000);
  return url;
}

/** Pushes a one-layer image and returns its manifest bytes. */
async function pushImage(client: RegistryClient, repository: string, tag: string, layerText: string): Promise<Uint8Array> {
  const config = enc('{"os":"linux"}');
  const layer = enc(layerText);
  await client.pushBlob(repository, config, digestOf(config));
  await client.pushBlob(repository, layer, digestOf(layer));
  const manifest = enc(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.byteLength },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.byteLength }],
  }));
  await client.putManifest(repository, tag, manifest, OCI_MANIFEST);
  return manifest;
}

describe('examples/elysia-auth', () => {
  test('checks bearer tokens itself: pushers push, readers only pull, strangers are challenged', async () => {
    const url = await startExample('examples/elysia-auth/main.ts', { TOKENS: 'ci-token:push,reader:pull' });
    const anonymous = await fetch(`${url}/v2/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="example"');

    const auth = (token: string) => (input: string | URL | Request, init?: RequestInit) =>
      fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), Authorization: `Bearer ${token}` } });
    const pusher = new RegistryClient({ registry: url, fetch: auth('ci-token') as typeof fetch });
    const manifest = await pushImage(pusher, 'team/app', 'v1', 'elysia layer');
    const reader = new RegistryClient({ registry: url, fetch: auth('reader') as typeof fetch });
    expect((await reader.getManifest('team/app', 'v1'))?.body).toEqual(manifest);
    await expect(pushImage(reader, 'team/app', 'v2', 'denied')).rejects.toMatchObject({ code: 'DENIED', status: 403 });

    const health = await (await fetch(`${url}/healthz`)).json();
    expect(health).toEqual({ ok: true, repositories: 1 });
  });
});

describe('examples/bun-serve-memory', () => {
  test('serves pushes and pulls from memory through the plain fetch handler', async () => {
    const url = await startExample('examples/bun-serve-memory/main.ts');
    const client = new RegistryClient({ registry: url });
    const manifest = await pushImage(client, 'mem/app', 'latest', 'memory layer');
    expect((await client.getManifest('mem/app', 'latest'))?.body).toEqual(manifest);
    const blob = await client.getBlob('mem/app', digestOf('memory layer'));
    expect(await blob.text()).toBe('memory layer');
  });
});

describe('examples/read-only-layout', () => {
  test('serves an imported OCI layout and refuses pushes', async () => {
    const layout = tempDir();
    const write = (bytes: Uint8Array) => {
      const digest = digestOf(bytes);
      const file = path.join(layout, 'blobs', 'sha256', digest.slice(7));
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, bytes);
      return digest;
    };
    const config = enc('{"os":"linux","architecture":"amd64"}');
    const layer = enc('layout layer');
    const manifest = enc(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: write(config), size: config.byteLength },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: write(layer), size: layer.byteLength }],
    }));
    const manifestDigest = write(manifest);
    fs.writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: OCI_MANIFEST, digest: manifestDigest, size: manifest.byteLength, annotations: { 'org.opencontainers.image.ref.name': '1.0' } }],
    }));

    const url = await startExample('examples/read-only-layout/main.ts', { LAYOUT: layout, REPOSITORY: 'preloaded/app' });
    const client = new RegistryClient({ registry: url });
    const pulled = await client.getManifest('preloaded/app', '1.0');
    expect(pulled?.digest).toBe(manifestDigest);
    expect(pulled?.body).toEqual(manifest);
    expect(await (await client.getBlob('preloaded/app', digestOf(layer))).text()).toBe('layout layer');
    await expect(client.pushBlob('preloaded/app', enc('new'), digestOf('new'))).rejects.toMatchObject({ code: 'UNSUPPORTED', status: 405 });
  });
});

describe('examples/counting-blob-store', () => {
  test('counts the bytes its wrapped store serves', async () => {
    const url = await startExample('examples/counting-blob-store/main.ts', { DATA: tempDir() });
    const client = new RegistryClient({ registry: url });
    await pushImage(client, 'count/app', 'v1', 'count these bytes');
    for (let i = 0; i < 3; i++) await (await client.getBlob('count/app', digestOf('count these bytes'))).arrayBuffer();
    const stats = await (await fetch(`${url}/stats`)).json();
    expect(stats).toEqual({ blobsServed: 3, bytesServed: 3 * 'count these bytes'.length });
  });
});

blobStoreContract('CountingBlobStore over MemoryBlobStore (examples/counting-blob-store)', async () => ({ store: new CountingBlobStore(new MemoryBlobStore()) }));
