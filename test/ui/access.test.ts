/**
 * The web page under access control (Basic users + access rules): a caller sees only repositories they may pull,
 * the list needs the catalog right, browsers log in at /ui/login; and `--no-ui` turns the page off.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import { basicOf, PASSWORDS, writeRules, writeUsers } from '../auth/support.ts';
import { launchBrowser, seedFixtures, tempDir } from './support.ts';

setDefaultTimeout(30_000);

let dir: string;
let server: ServerProcess;

beforeAll(async () => {
  dir = tempDir('access');
  const data = path.join(dir, 'data');
  // carol may pull library/* and list; anonymous callers may pull public/*; team-a/* is bob's.
  await seedFixtures(data, { image: 'library/web', index: 'team-a/multi' });
  await seedFixtures(data, { image: 'public/tool', index: 'team-a/other' });
  server = await startServer(data, ['--auth', 'basic', '--htpasswd', await writeUsers(dir), '--access', writeRules(dir)]);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the web page with access control', () => {
  test('a logged-in user sees only the repositories they may pull, and is refused the others', async () => {
    const browser = await launchBrowser({ httpCredentials: { username: 'carol', password: PASSWORDS.carol } });
    try {
      const page = browser.context.pages()[0] ?? (await browser.context.newPage());
      await page.goto(`${server.url}/ui/login?next=/ui/`);
      expect(new URL(page.url()).pathname).toBe('/ui/');
      expect(await page.locator('header .who').innerText()).toBe('Signed in as carol');
      expect(await page.locator('#repositories tbody td:first-child').allInnerTexts()).toEqual(['library/web']);
      expect((await page.goto(`${server.url}/ui/r/library/web:latest`))?.status()).toBe(200);
      expect(await page.locator('ul.tree a').count()).toBe(1);
      const refused = await page.goto(`${server.url}/ui/r/team-a/multi`);
      expect(refused?.status()).toBe(403);
      expect(await page.locator('main').innerText()).toContain('carol may not pull team-a/multi');
      expect(await page.locator('button', { hasText: /delete/i }).count()).toBe(0);
    } finally {
      await browser.close();
    }
  });

  test('the JSON API applies the same rules as the pages', async () => {
    const asCarol = { headers: { Authorization: basicOf('carol') } };
    const list = (await (await fetch(`${server.url}/ui/api/repositories`, asCarol)).json()) as { items: { name: string }[] };
    expect(list.items.map((r) => r.name)).toEqual(['library/web']);
    const search = (await (await fetch(`${server.url}/ui/api/repositories?q=team`, asCarol)).json()) as { items: unknown[] };
    expect(search.items).toEqual([]);
    expect((await fetch(`${server.url}/ui/api/tags?name=team-a/multi`, asCarol)).status).toBe(403);
    expect((await fetch(`${server.url}/ui/api/tags?name=library/web`, asCarol)).status).toBe(200);
    const bad = await fetch(`${server.url}/ui/api/repositories`, { headers: { Authorization: 'Basic Y2Fyb2w6d3Jvbmc=' } });
    expect(bad.status).toBe(403);
  });

  test('an anonymous visitor may open what anonymous callers may pull, is not shown the list, and is offered a login', async () => {
    const anonymous = await fetch(`${server.url}/ui/`);
    expect(anonymous.status).toBe(403);
    const text = await anonymous.text();
    expect(text).toContain('You may not list the repositories');
    expect(text).toContain('href="/ui/login?next=%2Fui%2F"');
    expect(text).not.toContain('library/web');
    expect((await fetch(`${server.url}/ui/r/public/tool`)).status).toBe(200);
    expect((await fetch(`${server.url}/ui/r/library/web`)).status).toBe(403);
    expect((await fetch(`${server.url}/ui/storage`)).status).toBe(403);
    const login = await fetch(`${server.url}/ui/login`);
    expect(login.status).toBe(401);
    expect(login.headers.get('www-authenticate')).toStartWith('Basic realm="marina"');
  });

  test('a login returns only to a page of this site', async () => {
    const away = await fetch(`${server.url}/ui/login?next=//evil.example/`, { headers: { Authorization: basicOf('carol') }, redirect: 'manual' });
    expect(away.status).toBe(303);
    expect(away.headers.get('location')).toBe('/ui/');
  });
});

describe('the web page with the token service', () => {
  test('a browser logs in with Basic credentials and sees what the rules let it pull', async () => {
    const data = path.join(dir, 'data-token');
    await seedFixtures(data, { image: 'library/app', index: 'team-a/app' });
    const tokenServer = await startServer(data, ['--htpasswd', await writeUsers(dir), '--access', writeRules(dir)]);
    try {
      expect(tokenServer.startupLine).toContain('auth="token, ');
      const login = await fetch(`${tokenServer.url}/ui/login`);
      expect(login.status).toBe(401);
      expect(login.headers.get('www-authenticate')).toStartWith('Basic ');
      const list = (await (await fetch(`${tokenServer.url}/ui/api/repositories`, { headers: { Authorization: basicOf('carol') } })).json()) as { items: { name: string }[] };
      expect(list.items.map((r) => r.name)).toEqual(['library/app']);
      expect((await fetch(`${tokenServer.url}/ui/r/team-a/app`, { headers: { Authorization: basicOf('carol') } })).status).toBe(403);
    } finally {
      await tokenServer.stop();
    }
  });
});

describe('the storage computation', () => {
  test('is started only by a same-site form post of a caller who may list', async () => {
    const asCarol = { Authorization: basicOf('carol') };
    const crossSite = await fetch(`${server.url}/ui/storage`, { method: 'POST', headers: { ...asCarol, Origin: 'http://evil.example' }, redirect: 'manual' });
    expect(crossSite.status).toBe(403);
    expect((await fetch(`${server.url}/ui/api/storage`, { headers: asCarol }).then((r) => r.json())) as object).toEqual({ state: {} });
    expect((await fetch(`${server.url}/ui/storage`, { method: 'POST', redirect: 'manual' })).status).toBe(403);
    const sameSite = await fetch(`${server.url}/ui/storage`, { method: 'POST', headers: { ...asCarol, Origin: server.url }, redirect: 'manual' });
    expect(sameSite.status).toBe(303);
    expect(sameSite.headers.get('location')).toBe('/ui/storage');
  });
});

describe('--no-ui', () => {
  test('turns the web page off: / and /ui/ are not answered, the registry API still is', async () => {
    const off = await startServer(path.join(dir, 'data-off'), ['--no-ui']);
    try {
      for (const pathname of ['/', '/ui/', '/ui/api/repositories']) expect((await fetch(`${off.url}${pathname}`)).status).toBe(404);
      expect((await fetch(`${off.url}/v2/`)).status).toBe(200);
    } finally {
      await off.stop();
    }
  });
});
