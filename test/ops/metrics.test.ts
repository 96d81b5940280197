/**
 * `/metrics` of a real `marina serve` process: after a scripted push, pull, mirror fill and delete, every counter
 * moved by exactly what happened. The upstream of the mirror is an in-process Marina on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { digestOf } from '../../src/oci/digest.ts';
import { Client, OCI_MANIFEST, bytesOf, descriptorOf, OCI_CONFIG, OCI_LAYER, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import { ACCEPT_MANIFESTS, serveRegistry, type Served } from '../mirror/support/harness.ts';
import { pushImage, randomImage } from '../mirror/support/images.ts';
import { delta, parseExposition, scrape, series, type Samples } from './scrape.ts';

const DURATION = 'marina_http_request_duration_seconds_count';

let upstream: Served;
let server: ServerProcess;
let dataDir: string;
let c: Client;

beforeAll(async () => {
  upstream = serveRegistry();
  dataDir = tempDir('marina-metrics-');
  // Freshness 0 and no stale-while-revalidate window: every read of a mirrored tag asks upstream again before
  // answering, so a second read is a revalidation.
  server = await startServer(dataDir, ['--mirror', `up=${upstream.url}`, '--mirror-freshness', '0', '--mirror-stale-while-revalidate', '0'], { MARINA_STORAGE_CENSUS_SECONDS: '0' });
  c = new Client((request) => fetch(request), server.url);
});

afterAll(async () => {
  await server?.stop('SIGKILL');
  await upstream?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('/metrics after a scripted run', () => {
  test('counts each request, byte, mirror outcome and stored object exactly', async () => {
    const image = randomImage([3000], 'metrics');
    await pushImage(upstream.url, 'library/alpine', '1', image);
    const before = await scrape(server.url);

    // Push: a monolithic blob, a chunked upload (POST, PATCH, PUT) and a manifest with a tag.
    const config = bytesOf({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
    const layer = randomBytes(1500);
    await c.pushBlob('team/app', config);
    const location = await c.startUpload('team/app');
    // The PATCH body is a stream, so it goes chunked, without Content-Length, as docker sends layers.
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(layer.slice(0, 600));
        controller.enqueue(layer.slice(600, 1000));
        controller.close();
      },
    });
    const patch = await c.send('PATCH', location, { body: chunked });
    expect(patch.status).toBe(202);
    const put = await c.send('PUT', `${c.url(patch.headers.get('location')!)}${patch.headers.get('location')!.includes('?') ? '&' : '?'}digest=${digestOf(layer)}`, {
      body: layer.subarray(1000),
    });
    expect(put.status).toBe(201);
    const manifest = bytesOf({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptorOf(OCI_CONFIG, config), layers: [descriptorOf(OCI_LAYER, layer)] });
    const pushed = await c.pushManifest('team/app', 'v1', manifest, OCI_MANIFEST);

    // Pull: manifest by tag, the layer, and a HEAD of the layer (no bytes served).
    expect((await c.get('/v2/team/app/manifests/v1', { accept: OCI_MANIFEST })).status).toBe(200);
    const got = await c.get(`/v2/team/app/blobs/${digestOf(layer)}`);
    expect((await got.arrayBuffer()).byteLength).toBe(1500);
    expect((await c.head(`/v2/team/app/blobs/${digestOf(layer)}`)).status).toBe(200);

    // Delete the manifest (and with it the tag).
    expect((await c.delete(`/v2/team/app/manifests/${pushed.digest}`)).status).toBe(202);

    // Mirror: the manifest and the layer come from upstream once (misses), then the layer from the cache (a hit),
    // and the tag once more, confirmed unchanged upstream (a revalidation).
    for (const expected of ['fwd=miss', 'detail=revalidated']) {
      const mirrored = await c.get('/v2/up/library/alpine/manifests/1', { accept: ACCEPT_MANIFESTS });
      expect(mirrored.headers.get('cache-status')).toContain(expected);
      expect((await mirrored.arrayBuffer()).byteLength).toBe(image.manifest.byteLength);
    }
    const mirroredLayer = image.layers[0]!;
    for (const expected of ['fwd=miss', '; hit']) {
      const res = await c.get(`/v2/up/library/alpine/blobs/${mirroredLayer.digest}`);
      expect(res.headers.get('cache-status')).toContain(expected);
      expect((await res.arrayBuffer()).byteLength).toBe(3000);
    }

    const after = await scrape(server.url);
    const d = (name: string, labels: Record<string, string> = {}) => delta(before, after, name, labels);
    const requests = (route: string, method: string, status: number) => d(DURATION, { route, method, status: String(status) });

    expect({
      monolithic: requests('uploads', 'POST', 201),
      sessionOpened: requests('uploads', 'POST', 202),
      patch: requests('upload', 'PATCH', 202),
      put: requests('upload', 'PUT', 201),
      manifestPut: requests('manifest', 'PUT', 201),
      manifestGet: requests('manifest', 'GET', 200),
      blobGet: requests('blob', 'GET', 200),
      blobHead: requests('blob', 'HEAD', 200),
      manifestDelete: requests('manifest', 'DELETE', 202),
    }).toEqual({ monolithic: 1, sessionOpened: 1, patch: 1, put: 1, manifestPut: 1, manifestGet: 3, blobGet: 3, blobHead: 1, manifestDelete: 1 });

    expect({
      blobOut: d('marina_http_response_bytes_total', { route: 'blob' }),
      manifestOut: d('marina_http_response_bytes_total', { route: 'manifest' }),
      uploadsIn: d('marina_http_request_bytes_total', { route: 'uploads' }),
      uploadIn: d('marina_http_request_bytes_total', { route: 'upload' }),
      manifestIn: d('marina_http_request_bytes_total', { route: 'manifest' }),
    }).toEqual({
      blobOut: 1500 + 3000 + 3000,
      manifestOut: manifest.byteLength + 2 * image.manifest.byteLength,
      uploadsIn: config.byteLength,
      uploadIn: 1500,
      manifestIn: manifest.byteLength,
    });

    expect({
      hits: d('marina_mirror_hits_total'),
      misses: d('marina_mirror_misses_total'),
      joins: d('marina_mirror_joins_total'),
      stale: d('marina_mirror_stale_total'),
      saved: d('marina_mirror_bytes_saved_total'),
      fetched: d('marina_mirror_upstream_bytes_total', { upstream: 'up' }),
      missResponses: d('marina_mirror_responses_total', { outcome: 'miss' }),
      hitResponses: d('marina_mirror_responses_total', { outcome: 'hit' }),
      revalidations: d('marina_mirror_responses_total', { outcome: 'revalidated' }),
    }).toEqual({ hits: 2, misses: 2, joins: 0, stale: 0, saved: 3000, fetched: 3000, missResponses: 2, hitResponses: 1, revalidations: 1 });

    // Stored now: team/app keeps its two blob links (no manifest, no tag); the mirror holds one manifest, its tag
    // and the filled layer. Blob files: config, layer, mirrored layer.
    const stored = (name: string) => after.get(series(name));
    expect({
      repositories: stored('marina_storage_repositories'),
      manifests: stored('marina_storage_manifests'),
      tags: stored('marina_storage_tags'),
      blobs: stored('marina_storage_blobs'),
      bytes: stored('marina_storage_blob_bytes'),
    }).toEqual({ repositories: 2, manifests: 1, tags: 1, blobs: 3, bytes: config.byteLength + 1500 + 3000 });
    expect(after.get('marina_uploads_in_progress')).toBe(0);
    expect(d('marina_upload_sessions_open')).toBe(0);
    // A session opened and left open is counted until it is cancelled.
    const open = await c.startUpload('team/app');
    expect(delta(after, await scrape(server.url), 'marina_upload_sessions_open')).toBe(1);
    expect((await c.send('DELETE', open)).status).toBe(204);
    expect(delta(after, await scrape(server.url), 'marina_upload_sessions_open')).toBe(0);
    expect(after.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(after.get('process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  test('labels requests by route kind, never by raw path, however many repositories are hit', async () => {
    for (let i = 0; i < 20; i++) await (await c.get(`/v2/many/repo-${i}/tags/list`)).arrayBuffer();
    await (await c.get('/v2/this/path/matches/nothing')).arrayBuffer();
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).not.toContain('repo-');
    const samples: Samples = parseExposition(text);
    const routes = new Set([...samples.keys()].filter((k) => k.startsWith(DURATION)).map((k) => /route="([^"]*)"/.exec(k)![1]));
    for (const r of routes) expect(['base', 'catalog', 'tags', 'manifest', 'blob', 'uploads', 'upload', 'referrers', 'none']).toContain(r!);
    expect(samples.get(series(DURATION, { route: 'none', method: 'GET', status: '404' }))).toBe(1);
  });

  test('answers in the Prometheus text format with its content type', async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.headers.get('content-type')).toStartWith('text/plain; version=0.0.4');
    const text = await res.text();
    expect(text).toContain('# TYPE marina_http_request_duration_seconds histogram');
    expect(text).toContain('# TYPE marina_mirror_hits_total counter');
    expect(text).not.toMatch(/nodejs_eventloop_lag/);
  });
});
