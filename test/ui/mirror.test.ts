/**
 * The mirror page: a Marina mirror in front of another Marina (the upstream) holding the fixture images. Pulls
 * through the mirror (a miss, then hits) must show up as hit ratio, bytes fetched and served from cache, cached
 * images, what eviction would remove next, and SVG charts.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatBytes, shortDigest } from '../../src/ui/format.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import type { Fixtures } from '../fixtures/make-images.ts';
import { ARTIFACTS, launchBrowser, REPOS, seedFixtures, tempDir } from './support.ts';

setDefaultTimeout(30_000);

let dir: string;
let upstream: ServerProcess;
let mirror: ServerProcess;
let fixtures: Fixtures;

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';

/** Pulls the fixture image through the mirror: manifest, config and layers. */
async function pullImage(): Promise<number> {
  let bytes = 0;
  const manifest = await fetch(`${mirror.url}/v2/up/${REPOS.image}/manifests/latest`, { headers: { Accept: ACCEPT } });
  expect(manifest.status).toBe(200);
  await manifest.arrayBuffer();
  for (const blob of [fixtures.image.config, ...fixtures.image.layers]) {
    const response = await fetch(`${mirror.url}/v2/up/${REPOS.image}/blobs/${blob.digest}`);
    expect(response.status).toBe(200);
    bytes += (await response.arrayBuffer()).byteLength;
  }
  return bytes;
}

beforeAll(async () => {
  dir = tempDir('mirror');
  fixtures = await seedFixtures(path.join(dir, 'upstream'));
  upstream = await startServer(path.join(dir, 'upstream'));
  mirror = await startServer(path.join(dir, 'mirror'), ['--mirror', `up=${upstream.url}`, '--cache-max', '64MiB']);
}, 60_000);

afterAll(async () => {
  await mirror?.stop();
  await upstream?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the mirror page', () => {
  test('shows hit ratio, bytes from cache and fetched, cached images, eviction order and charts per upstream', async () => {
    const browser = await launchBrowser();
    try {
      const page = browser.context.pages()[0] ?? (await browser.context.newPage());
      const blobBytes = [fixtures.image.config, ...fixtures.image.layers].reduce((sum, d) => sum + d.size, 0);
      // A first look records a sample before any traffic, so the charts have a line from zero.
      await page.goto(`${mirror.url}/ui/mirror`);
      expect(await pullImage()).toBe(blobBytes);
      expect(await pullImage()).toBe(blobBytes);
      await page.goto(`${mirror.url}/ui/mirror`);
      const cards = await page.locator('.cards').innerText();
      expect(cards).toMatch(/\d+\.\d %\s+hit ratio/);
      expect(cards).toContain(`${formatBytes(blobBytes)}\nserved from cache`);
      expect(cards).toMatch(/of 64\.0 MiB\s+cache use/);
      const row = page.locator('table tbody tr', { has: page.locator('th', { hasText: 'up' }) });
      expect(await row.innerText()).toContain(upstream.url);
      const cells = await row.locator('td').allInnerTexts();
      expect(cells[4]).not.toBe('0 B');
      // Per upstream: the second pull was answered from the cache, so the ratio is a percentage, and bytes served
      // from the cache are this upstream's own.
      expect(cells[0]).toMatch(/^\d+\.\d %$/);
      expect(cells[3]).toBe(formatBytes(blobBytes));
      const image = `up/${REPOS.image}@${shortDigest(fixtures.image.manifest.digest)}`;
      expect(await page.locator('table', { has: page.locator('caption', { hasText: 'Largest' }) }).innerText()).toContain(image);
      const eviction = page.locator('h2:text-is("Evicted next") + p + table');
      expect(await eviction.innerText()).toContain(image);
      expect(await eviction.innerText()).toContain(formatBytes(fixtures.image.manifest.size + blobBytes));
      await eviction.locator('a').first().click();
      expect(new URL(page.url()).pathname).toBe(`/ui/r/up/${REPOS.image}@${fixtures.image.manifest.digest}`);
      await page.goto(`${mirror.url}/ui/mirror`);
      expect(await page.locator('svg.chart').count()).toBe(3);
      expect(await page.locator('svg.chart polyline').count()).toBeGreaterThanOrEqual(4);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'mirror.png'), fullPage: true });

      const api = (await (await fetch(`${mirror.url}/ui/api/mirror`)).json()) as { counters: { hits: number; bytesServedFromCache: number }; samples: unknown[]; upstreams: { name: string }[] };
      expect(api.counters.bytesServedFromCache).toBe(blobBytes);
      expect(api.upstreams.map((u) => u.name)).toEqual(['up']);
      expect(api.samples.length).toBeGreaterThanOrEqual(3);
    } finally {
      await browser.close();
    }
  });

  test('a registry without a mirror has no mirror page', async () => {
    expect((await fetch(`${upstream.url}/ui/mirror`)).status).toBe(404);
    expect(await (await fetch(`${upstream.url}/ui/`)).text()).not.toContain('href="/ui/mirror"');
  });
});
