/**
 * Shared pieces of the access-control tests: users and rules files, a real `marina serve` with auth flags,
 * clients that send credentials, a token getter, and a view of the store (through an admin) to prove that a
 * refused request changed nothing.
 */
import { expect } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';

/** Passwords of the test users. */
export const PASSWORDS = { alice: 'alice-secret-1', bob: 'bob-secret-2', carol: 'carol-secret-3' } as const;
export type User = keyof typeof PASSWORDS;

/**
 * alice (group admins) may do everything; bob may push and pull team-a/**, pull library/* and list; carol may
 * pull library/* and list; anonymous callers may pull public/*.
 */
export const RULES_TOML = `
[groups]
admins = ["alice"]

[[rules]]
groups = ["admins"]
repositories = ["**"]
actions = ["*"]

[[rules]]
users = ["bob"]
repositories = ["team-a/**"]
actions = ["pull", "push"]

[[rules]]
users = ["bob", "carol"]
repositories = ["library/*"]
actions = ["pull"]

[[rules]]
users = ["bob", "carol"]
repositories = ["**"]
actions = ["catalog"]

[[rules]]
anonymous = true
repositories = ["public/*"]
actions = ["pull"]
`;

/** Writes an htpasswd file (bcrypt, `$2y$` as Apache writes it) for the test users. */
export async function writeUsers(dir: string, users: Record<string, string> = PASSWORDS): Promise<string> {
  const lines = await Promise.all(
    Object.entries(users).map(async ([user, password]) => `${user}:${(await Bun.password.hash(password, { algorithm: 'bcrypt', cost: 4 })).replace(/^\$2b\$/, '$2y$')}`),
  );
  const file = path.join(dir, 'users.htpasswd');
  fs.writeFileSync(file, `# test users\n${lines.join('\n')}\n`);
  return file;
}

/** Writes the rules file. */
export function writeRules(dir: string, text = RULES_TOML, name = 'access.toml'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** `Authorization` value for Basic credentials. */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** The Basic header of a test user. */
export function basicOf(user: User): string {
  return basic(user, PASSWORDS[user]);
}

/** A test client that sends `authorization` (or nothing) with every request. */
export function clientFor(server: ServerProcess, authorization?: string): Client {
  return new Client((request) => {
    if (authorization) request.headers.set('authorization', authorization);
    return fetch(request);
  }, server.url);
}

/** Asks the server's token endpoint; returns the response and, on 200, the token and its claims. */
export async function requestToken(server: ServerProcess, scopes: string[], authorization?: string): Promise<{ status: number; body: any; token?: string; claims?: any }> {
  const query = new URLSearchParams({ service: 'marina' });
  for (const s of scopes) query.append('scope', s);
  const res = await fetch(`${server.url}/token?${query}`, { headers: authorization ? { authorization } : {} });
  const body = (await res.json()) as any;
  if (res.status !== 200) return { status: res.status, body };
  return { status: 200, body, token: body.token, claims: JSON.parse(Buffer.from(body.token.split('.')[1], 'base64url').toString()) };
}

/** A token from the endpoint; fails the test unless one is issued. */
export async function tokenFor(server: ServerProcess, scopes: string[], authorization?: string): Promise<string> {
  const answer = await requestToken(server, scopes, authorization);
  expect(answer.status).toBe(200);
  return answer.token!;
}

/** Everything a client can see of the store: repositories, their tags, and what each tag points to. */
export async function storeView(admin: Client): Promise<Record<string, Record<string, string>>> {
  const catalog = await admin.get('/v2/_catalog');
  expect(catalog.status).toBe(200);
  const view: Record<string, Record<string, string>> = {};
  for (const repo of ((await catalog.json()) as { repositories: string[] }).repositories) {
    const tags = await admin.get(`/v2/${repo}/tags/list`);
    const list = tags.status === 200 ? (((await tags.json()) as { tags: string[] }).tags ?? []) : [];
    view[repo] = {};
    for (const tag of list) {
      const head = await admin.head(`/v2/${repo}/manifests/${tag}`, { accept: 'application/vnd.oci.image.manifest.v1+json' });
      view[repo][tag] = head.headers.get('docker-content-digest') ?? String(head.status);
    }
  }
  return view;
}

/** A temporary directory for one test file, removed by the caller. */
export function authTempDir(): string {
  return tempDir('marina-auth-');
}

/** Starts marina with the given auth flags on a fresh data directory inside `dir`. */
export function startWithAuth(dir: string, args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  return startServer(path.join(dir, `data-${crypto.randomUUID().slice(0, 8)}`), args, env);
}
