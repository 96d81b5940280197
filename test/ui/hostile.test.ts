/**
 * Hostile content on the web page: annotations and media types are whatever a pusher wrote. A browser opening the
 * pages of such an image must show the text as text and run none of it.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { digestOf } from '../../src/oci/digest.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import { ARTIFACTS, launchBrowser, tempDir } from './support.ts';

setDefaultTimeout(30_000);

const REPO = 'evil/app';
const KEY = '<script>globalThis.pwned = "key"</script>';
const VALUE = '"><img src=x onerror="globalThis.pwned = \'value\'">';
const REFERRER_NOTE = '</dd><script>globalThis.pwned = "referrer"</script>';
const ARTIFACT_TYPE = 'application/vnd.evil&lt+json';

let dir: string;
let server: ServerProcess;
let context: BrowserContext;
let closeBrowser: () => Promise<void>;
let page: Page;
let subject: string;

async function put(pathname: string, body: string, contentType: string): Promise<Response> {
  const response = await fetch(`${server.url}${pathname}`, { method: 'PUT', body, headers: { 'Content-Type': contentType } });
  expect(response.status).toBe(201);
  return response;
}

beforeAll(async () => {
  dir = tempDir('hostile');
  server = await startServer(path.join(dir, 'data'));
  const config = '{}';
  const post = await fetch(`${server.url}/v2/${REPO}/blobs/uploads/?digest=${digestOf(config)}`, { method: 'POST', body: config });
  expect(post.status).toBe(201);
  const empty = { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(config), size: 2 };
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: ARTIFACT_TYPE, config: empty, layers: [], annotations: { [KEY]: VALUE } });
  subject = digestOf(manifest);
  await put(`/v2/${REPO}/manifests/latest`, manifest, 'application/vnd.oci.image.manifest.v1+json');
  const referrer = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.evil.sig',
    config: empty,
    layers: [],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject, size: manifest.length },
    annotations: { note: REFERRER_NOTE },
  });
  await put(`/v2/${REPO}/manifests/${digestOf(referrer)}`, referrer, 'application/vnd.oci.image.manifest.v1+json');
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

describe('hostile content on the web page', () => {
  test('annotation keys and values, artifact types and referrer annotations are shown as text and never run', async () => {
    const pages = ['/ui/', `/ui/r/${REPO}`, `/ui/r/${REPO}:latest`, `/ui/r/${REPO}@${subject}`];
    for (const pathname of pages) {
      const response = await page.goto(`${server.url}${pathname}`);
      expect(response?.status()).toBe(200);
      expect(await page.evaluate(() => (globalThis as any).pwned)).toBeUndefined();
      expect(await page.locator('main img, main script').count()).toBe(0);
    }
    const annotations = page.locator('#annotations + dl');
    expect(await annotations.locator('dt').innerText()).toBe(KEY);
    expect(await annotations.locator('dd').innerText()).toBe(VALUE);
    expect(await page.locator('dl.facts').first().innerText()).toContain(ARTIFACT_TYPE);
    expect(await page.locator('ul.tree dd').innerText()).toBe(REFERRER_NOTE);
    await page.screenshot({ path: path.join(ARTIFACTS, 'hostile.png'), fullPage: true });

    const markup = await (await fetch(`${server.url}/ui/r/${REPO}:latest`)).text();
    expect(markup).not.toContain('<script>globalThis');
    expect(markup).not.toContain('<img');
    expect(markup).toContain('&lt;script&gt;globalThis.pwned = &quot;key&quot;&lt;/script&gt;');
    expect(markup).toContain('application/vnd.evil&amp;lt+json');
  });

  test('every page forbids inline script by its Content-Security-Policy', async () => {
    const response = await fetch(`${server.url}/ui/r/${REPO}`);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  test('the JSON API returns the hostile strings as data with a JSON content type', async () => {
    const response = await fetch(`${server.url}/ui/api/manifest?name=${REPO}&ref=latest`);
    expect(response.headers.get('content-type')).toBe('application/json');
    const view = (await response.json()) as { annotations: Record<string, string>; referrers: { annotations: Record<string, string> }[] };
    expect(view.annotations[KEY]).toBe(VALUE);
    expect(view.referrers[0]!.annotations.note).toBe(REFERRER_NOTE);
  });
});
