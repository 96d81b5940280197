/**
 * Render times at scale: 10,000 repositories and one repository with 10,000 tags, seeded through the library
 * in-process, then served by a real `marina serve` and opened in headless chromium. The numbers are printed and
 * written to test-artifacts/ui/render-times.json; the bounds asserted are generous (a regression to scanning
 * everything per request would break them), the printed times are the measurement.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { digestOf } from '../../src/oci/digest.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import { ARTIFACTS, launchBrowser, tempDir, withRegistry } from './support.ts';

setDefaultTimeout(60_000);

const REPOSITORIES = 10_000;
const TAGS = 10_000;
const BIG = 'scale/big';
const pad = (i: number) => String(i).padStart(5, '0');

let dir: string;
let server: ServerProcess;
const times: Record<string, number> = {};

/** Runs `work` for 0..count-1 with at most `width` at once. */
async function bounded(count: number, width: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) await work(next++);
  }));
}

beforeAll(async () => {
  dir = tempDir('scale');
  const started = performance.now();
  await withRegistry(path.join(dir, 'data'), async (registry) => {
    const config = new TextEncoder().encode('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    const manifest = (i: number) => JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.byteLength },
      layers: [],
      annotations: { 'org.opencontainers.image.version': String(i) },
    });
    await bounded(REPOSITORIES, 64, async (i) => {
      const repository = `scale/repo-${pad(i)}`;
      await registry.putBlob(repository, config);
      await registry.putManifest(repository, 'latest', manifest(i), 'application/vnd.oci.image.manifest.v1+json');
    });
    await registry.putBlob(BIG, config);
    await bounded(TAGS, 64, (i) => registry.putManifest(BIG, `t-${pad(i)}`, manifest(i), 'application/vnd.oci.image.manifest.v1+json'));
  });
  times['seed 10,000 repositories + 10,000 tags (library, in-process)'] = performance.now() - started;
  server = await startServer(path.join(dir, 'data'));
}, 300_000);

afterAll(async () => {
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const rounded = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, Math.round(v * 10) / 10]));
  fs.writeFileSync(path.join(ARTIFACTS, 'render-times.json'), `${JSON.stringify(rounded, null, 2)}\n`);
  process.stderr.write(`web page render times (ms):\n${Object.entries(rounded).map(([k, v]) => `  ${v.toString().padStart(8)}  ${k}`).join('\n')}\n`);
});

/** Server time of one GET (until the whole body is read), in ms. */
async function serverTime(label: string, pathname: string): Promise<string> {
  const started = performance.now();
  const response = await fetch(`${server.url}${pathname}`);
  const text = await response.text();
  times[`server ${label}`] = performance.now() - started;
  expect(response.status).toBe(200);
  return text;
}

/** Browser time: navigation start to the load event, from the page's own Navigation Timing entry. */
async function browserTime(page: Page, label: string, pathname: string): Promise<void> {
  await page.goto(`${server.url}${pathname}`);
  const timing = await page.evaluate(() => {
    const nav = (globalThis as any).performance.getEntriesByType('navigation')[0];
    return { response: nav.responseEnd - nav.startTime, load: nav.loadEventEnd - nav.startTime };
  });
  times[`browser ${label}: response complete`] = timing.response;
  times[`browser ${label}: load event`] = timing.load;
}

describe('the web page at scale', () => {
  test('the repository list pages through 10,000 repositories a page at a time', async () => {
    const first = await serverTime('repositories page 1 (cold summaries)', '/ui/');
    // scale/big sorts first, then scale/repo-00000…
    expect(first.match(/<tr>\s*<td><a href="\/ui\/r\/scale\//g)).toHaveLength(50);
    expect(first).toContain('href="/ui/?last=scale%2Frepo-00048"');
    await serverTime('repositories page 1 (cached summaries)', '/ui/');
    const deep = await serverTime('repositories page after repo-05000 (cold)', '/ui/?last=scale/repo-05000');
    expect(deep).toContain('>scale/repo-05001<');
    expect(deep).not.toContain('>scale/repo-05000<');
    const search = await serverTime('repositories search "repo-0999" (scans all 10,001 names)', '/ui/?q=repo-0999');
    expect(search.match(/<tr>\s*<td><a href="\/ui\/r\/scale\/repo-0999/g)).toHaveLength(10);
    await serverTime('api repositories n=200', '/ui/api/repositories?n=200&last=scale/repo-07000');
    const browser = await launchBrowser();
    try {
      const page = browser.context.pages()[0] ?? (await browser.context.newPage());
      await browserTime(page, 'repositories page 1', '/ui/?last=scale/repo-08000');
      await browserTime(page, 'repositories search', '/ui/?q=repo-0777');
      await page.goto(`${server.url}/ui/`);
      const started = performance.now();
      await page.fill('input[name=q]', 'repo-0123');
      await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#repositories tbody tr').length === 10);
      times['browser search as you type (keystrokes to 10 rows, incl. 150 ms debounce)'] = performance.now() - started;
    } finally {
      await browser.close();
    }
    for (const [label, ms] of Object.entries(times)) if (label.startsWith('server') || label.startsWith('browser')) expect(ms).toBeLessThan(3000);
  });

  test('the tags page pages through 10,000 tags a page at a time', async () => {
    const first = await serverTime('tags page 1 of 10,000', `/ui/r/${BIG}`);
    expect(first.match(/<tr>\s*<td><a href="\/ui\/r\/scale\/big@/g)).toHaveLength(100);
    expect(first).toContain('>t-00099<');
    const deep = await serverTime('tags page after t-05000', `/ui/r/${BIG}?last=t-05000`);
    expect(deep).toContain('>t-05001<');
    const list = await serverTime('repositories page holding the 10,000-tag repository', `/ui/?q=big`);
    expect(list).toContain('10,000');
    await serverTime('api tags n=500', `/ui/api/tags?name=${BIG}&n=500&last=t-09000`);
    const browser = await launchBrowser();
    try {
      const page = browser.context.pages()[0] ?? (await browser.context.newPage());
      await browserTime(page, 'tags page 1 of 10,000', `/ui/r/${BIG}`);
      await browserTime(page, 'tags page after t-09000', `/ui/r/${BIG}?last=t-09000`);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'tags-10000.png') });
    } finally {
      await browser.close();
    }
    for (const [label, ms] of Object.entries(times)) if (label.includes('tags') && !label.startsWith('seed')) expect(ms).toBeLessThan(3000);
  });
});
