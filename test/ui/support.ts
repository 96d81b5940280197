/**
 * Plumbing of the web page tests: seed a data directory with the fixture images through the library (closed
 * before a server opens it), and a headless Debian chromium driven by playwright-core with a fresh profile.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type BrowserContextOptions } from 'playwright-core';
import { createLogger } from '../../src/logger.ts';
import { createRegistry, type Registry } from '../../src/registry.ts';
import { fsStorage } from '../../src/storage/storage.ts';
import { importLayout } from '../../src/layout/import-layout.ts';
import { getFixtures } from '../clients/harness.ts';
import type { Fixtures } from '../fixtures/make-images.ts';

/** Where screenshots go (gitignored): `test-artifacts/ui/` at the repository root. */
export const ARTIFACTS = path.resolve(import.meta.dir, '../../test-artifacts/ui');

/** Chromium as Debian installs it (`.ci/install-tools.sh browser`). */
export const CHROMIUM = '/usr/bin/chromium';

/** A fresh temporary directory. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `marina-ui-${prefix}-`));
}

/** Opens a registry on `dir` in-process, runs `work`, and closes it (so a server can open the directory next). */
export async function withRegistry<T>(dir: string, work: (registry: Registry) => Promise<T>): Promise<T> {
  const registry = createRegistry({ storage: fsStorage({ root: dir, sync: false }), logger: createLogger('silent') });
  try {
    return await work(registry);
  } finally {
    await registry.close();
  }
}

/** The repositories the fixtures go into. */
export const REPOS = { image: 'apps/web', index: 'apps/multi' } as const;

/**
 * Imports the fixture image (tags `latest` and `v1.0`) with its signature referrer into `apps/web`, and the
 * two-platform index (`latest`) into `apps/multi`. Every fixture layout names its image `latest`, so the signature
 * goes in first and the image's `latest` then moves the tag off it, leaving the signature untagged as usual.
 */
export async function seedFixtures(dir: string, repos: { image: string; index: string } = REPOS): Promise<Fixtures> {
  const fixtures = getFixtures();
  await withRegistry(dir, async (registry) => {
    await importLayout(registry, fixtures.layouts.signature, repos.image);
    await importLayout(registry, fixtures.layouts.image, repos.image);
    const image = await registry.getManifest(repos.image, 'latest');
    await registry.putManifest(repos.image, 'v1.0', image.body, image.mediaType);
    await importLayout(registry, fixtures.layouts.index, repos.index);
  });
  return fixtures;
}

/**
 * Launches headless chromium with a fresh profile directory (a persistent context: Playwright takes the profile as
 * `userDataDir`, which it passes as --user-data-dir); `close` also removes the profile.
 */
export async function launchBrowser(options: BrowserContextOptions = {}): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run bash .ci/install-tools.sh browser`);
  const profile = tempDir('profile');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    viewport: { width: 1200, height: 800 },
    ...options,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
