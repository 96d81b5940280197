import { describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.resolve(import.meta.dir, '../../src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

describe('web page layering', () => {
  test('nothing below the server imports the web page: core, storage, oci, mirror, http and the registry stay UI-free', () => {
    const lower = [...['core', 'storage', 'oci', 'mirror', 'http', 'auth'].flatMap((d) => sources(path.join(SRC, d))), path.join(SRC, 'registry.ts')];
    const offenders = lower.filter((file) => /from\s+['"][^'"]*\/ui\//.test(fs.readFileSync(file, 'utf8')));
    expect(lower.length).toBeGreaterThan(30);
    expect(offenders).toEqual([]);
  });

  test('the web page does not import the CLI or Elysia', () => {
    const offenders = sources(path.join(SRC, 'ui')).filter((file) => /from\s+['"](?:[^'"]*\/cli\/|elysia)/.test(fs.readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
