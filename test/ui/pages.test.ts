/**
 * The web page in a real browser: headless Debian chromium (playwright-core) against a real `marina serve` whose
 * data directory holds the fixture images: an image with a signature referrer and a two-platform index.
 * Screenshots of every page go to test-artifacts/ui/.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { formatBytes, shortDigest } from '../../src/ui/format.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import type { Fixtures } from '../fixtures/make-images.ts';
import { ARTIFACTS, launchBrowser, REPOS, seedFixtures, tempDir } from './support.ts';

let dir: string;
let server: ServerProcess;
let fixtures: Fixtures;
let closeBrowser: () => Promise<void>;
let context: BrowserContext;
let page: Page;

setDefaultTimeout(30_000);

const sum = (sizes: number[]) => sizes.reduce((a, b) => a + b, 0);

beforeAll(async () => {
  dir = tempDir('pages');
  fixtures = await seedFixtures(path.join(dir, 'data'));
  server = await startServer(path.join(dir, 'data'));
  ({ context, close: closeBrowser } = await launchBrowser());
  context.setDefaultTimeout(10_000);
  page = context.pages()[0] ?? (await context.newPage());
  fs.mkdirSync(ARTIFACTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await closeBrowser?.();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const shot = (name: string, target: Page = page) => target.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

/** Cells of the table row whose first cell is `first`. */
async function rowOf(table: string, first: string, target: Page = page): Promise<string[]> {
  const row = target.locator(`${table} tbody tr`).filter({ has: target.locator('td:first-child', { hasText: first }) }).first();
  return (await row.locator('td').allInnerTexts()).map((t) => t.trim());
}

describe('the web page in a browser', () => {
  test('/ opens the repository list with tag counts, sizes and last push of each repository', async () => {
    const response = await page.goto(`${server.url}/`);
    expect(response?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/ui/');
    expect(await page.locator('h1').innerText()).toBe('Repositories');
    const names = await page.locator('#repositories tbody tr td:first-child').allInnerTexts();
    expect(names).toEqual([REPOS.index, REPOS.image]);

    const { image, signature, index } = fixtures;
    const webBytes = sum([image.manifest, image.config, ...image.layers, signature.manifest, signature.config, ...signature.layers].map((d) => d.size));
    const web = await rowOf('#repositories', REPOS.image);
    expect(web[1]).toBe('2');
    expect(web[2]).toBe(formatBytes(webBytes));
    expect(web[3]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);

    const blobs = new Map<string, number>();
    for (const child of index.children) for (const d of [child.config, ...child.layers]) blobs.set(d.digest, d.size);
    const multiBytes = index.manifest.size + sum(index.children.map((c) => c.manifest.size)) + sum([...blobs.values()]);
    const multi = await rowOf('#repositories', REPOS.index);
    expect(multi[1]).toBe('1');
    expect(multi[2]).toBe(formatBytes(multiBytes));
    await shot('repositories');
  });

  test('search narrows the list as you type, and works as a plain form without JavaScript', async () => {
    await page.goto(`${server.url}/ui/`);
    await page.keyboard.press('/');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.id)).toBe('q');
    await page.keyboard.type('multi');
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#repositories tbody tr').length === 1);
    expect(await page.locator('#repositories tbody td:first-child').allInnerTexts()).toEqual([REPOS.index]);
    expect(new URL(page.url()).search).toBe('?q=multi');
    await shot('repositories-search');

    const plain = await launchBrowser({ javaScriptEnabled: false });
    try {
      const noScript = await plain.context.newPage();
      await noScript.goto(`${server.url}/ui/`);
      await noScript.fill('input[name=q]', 'web');
      await Promise.all([noScript.waitForURL(/\?q=web$/), noScript.click('form.search button[type=submit]')]);
      expect(await noScript.locator('#repositories tbody td:first-child').allInnerTexts()).toEqual([REPOS.image]);
      await noScript.goto(`${server.url}/ui/?n=1`);
      expect(await noScript.locator('#repositories tbody td:first-child').allInnerTexts()).toEqual([REPOS.index]);
      await noScript.click('a[rel=next]');
      expect(await noScript.locator('#repositories tbody td:first-child').allInnerTexts()).toEqual([REPOS.image]);
    } finally {
      await plain.close();
    }
  });

  test('a repository lists its tags with digest, media type, size, push time and copyable pull commands', async () => {
    await page.goto(`${server.url}/ui/`);
    await page.click(`#repositories a:text-is("${REPOS.image}")`);
    await page.waitForURL(`**/ui/r/${REPOS.image}`);
    expect(await page.locator('h1').innerText()).toBe(REPOS.image);
    const { image } = fixtures;
    const host = new URL(server.url).host;
    for (const tag of ['latest', 'v1.0']) {
      const cells = await rowOf('#tags', tag);
      expect(cells[1]).toContain(shortDigest(image.manifest.digest));
      expect(cells[1]).toContain('application/vnd.oci.image.manifest.v1+json');
      expect(cells[2]).toBe(formatBytes(sum([image.manifest, image.config, ...image.layers].map((d) => d.size))));
      expect(cells[3]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
      expect(cells[4]).toContain(`docker pull ${host}/${REPOS.image}:${tag}`);
      expect(cells[4]).toContain(`crane pull --insecure ${host}/${REPOS.image}:${tag} ${tag}.tar`);
    }
    expect(await page.locator('#tags .cmd button').count()).toBe(4);
    await shot('repository');
    await page.fill('input[name=q]', 'v1');
    await Promise.all([page.waitForURL(/\?q=v1$/), page.press('input[name=q]', 'Enter')]);
    expect(await page.locator('#tags tbody td:first-child a').allInnerTexts()).toEqual(['v1.0']);
  });

  test('an index shows its two platforms, each linked to its image', async () => {
    await page.goto(`${server.url}/ui/r/${REPOS.index}`);
    await page.click('#tags a:text-is("latest")');
    await page.waitForURL(`**/ui/r/${REPOS.index}@${fixtures.index.manifest.digest}`);
    const platforms = page.locator('h2#platforms + table tbody tr');
    expect(await platforms.locator('td:first-child').allInnerTexts()).toEqual(['linux/amd64', 'linux/arm64']);
    await shot('index');
    const arm = fixtures.index.children.find((c) => c.platform.architecture === 'arm64')!;
    await platforms.filter({ hasText: 'linux/arm64' }).locator('a').click();
    await page.waitForURL(`**/ui/r/${REPOS.index}@${arm.manifest.digest}`);
    const layers = await page.locator('h2#layers + table tbody tr').allInnerTexts();
    expect(layers).toHaveLength(arm.layers.length);
    arm.layers.forEach((l, i) => {
      expect(layers[i]).toContain(shortDigest(l.digest));
      expect(layers[i]).toContain(l.mediaType);
      expect(layers[i]).toContain(formatBytes(l.size));
    });
    expect(await page.locator('h2#config + table').innerText()).toContain(formatBytes(arm.config.size));
  });

  test('an image shows config, layers, annotations and its signature in the referrers tree, each linked', async () => {
    const { image, signature } = fixtures;
    await page.goto(`${server.url}/ui/r/${REPOS.image}:latest`);
    expect(await page.locator('dl.facts').first().innerText()).toContain(image.manifest.digest);
    expect(await page.locator('h2#config + table').innerText()).toContain(image.config.mediaType);
    expect(await page.locator('h2#layers + table tbody tr').count()).toBe(image.layers.length);
    const tree = page.locator('ul.tree');
    expect(await tree.innerText()).toContain(signature.artifactType);
    expect(await tree.innerText()).toContain(shortDigest(signature.manifest.digest));
    await shot('image');
    await tree.locator('a').first().click();
    await page.waitForURL(`**/ui/r/${REPOS.image}@${signature.manifest.digest}`);
    const facts = await page.locator('dl.facts').first().innerText();
    expect(facts).toContain(signature.artifactType);
    expect(facts).toContain(`Subject\n${image.manifest.digest}`);
    expect(await page.locator('#annotations + dl').innerText()).toContain('org.opencontainers.image.created');
    await page.click(`dl.facts dd a[href="/ui/r/${REPOS.image}@${image.manifest.digest}"]`);
    await page.waitForURL(`**/ui/r/${REPOS.image}@${image.manifest.digest}`);
    await shot('signature-subject');
  });

  test('the links of a page are reachable with the keyboard, starting with a skip link', async () => {
    await page.goto(`${server.url}/ui/`);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.id)).toBe('main');
  });

  test('the storage page computes bytes by repository and what gc would free when asked', async () => {
    await page.goto(`${server.url}/ui/storage`);
    expect(await page.locator('main').innerText()).toContain('No report yet.');
    await page.click('main form button');
    await page.waitForSelector('text=What gc would free', { timeout: 20_000 });
    const rows = await page.locator('main table tbody tr td:first-child').allInnerTexts();
    expect(rows.sort()).toEqual([REPOS.index, REPOS.image]);
    expect(await page.locator('main').innerText()).toMatch(/0 B\s+in 0 blob files no repository links/);
    expect(await page.locator('main').innerText()).toContain('2 repositories measured');
    const listed = await (await fetch(`${server.url}/ui/api/repositories`)).json() as { items: { name: string; size: number }[] };
    for (const repo of listed.items) expect((await rowOf('main table', repo.name))[3]).toBe(formatBytes(repo.size));
    await shot('storage');
  });

  test('pages are dark when the system prefers dark', async () => {
    const p = await context.newPage();
    try {
      await p.emulateMedia({ colorScheme: 'dark' });
      await p.goto(`${server.url}/ui/r/${REPOS.image}`);
      expect(await p.evaluate(() => (globalThis as any).getComputedStyle((globalThis as any).document.body).backgroundColor)).toBe('rgb(15, 18, 22)');
      await shot('repository-dark', p);
    } finally {
      await p.close();
    }
  });
});
