/**
 * The layer rules of the design, enforced: dependencies point downward only. `oci` is pure spec knowledge, `core`
 * and `storage` know nothing of HTTP or the CLI, the mirror sits below HTTP, and only the HTTP faces load Elysia.
 */
import { describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.resolve(import.meta.dir, '../../src');

/** Every module specifier a file imports (static and dynamic), resolved to a path under src/ when relative. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import\()\s*'([^'\n]{1,200})'/g)].map((m) => m[1]!);
  return specs.map((s) => (s.startsWith('.') ? path.relative(SRC, path.resolve(path.dirname(file), s)) : s));
}

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(path.join(SRC, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(SRC, dir, f));
}

/** What each lower layer may import, as prefixes of paths under src/ (or package names). */
const ALLOWED: Record<string, string[]> = {
  oci: ['oci/', 'errors.ts', '@sinclair/typebox'],
  storage: ['storage/', 'oci/', 'errors.ts', 'crash-points.ts', 'lmdb', 'bun:sqlite', 'node:'],
  core: ['core/', 'storage/', 'oci/', 'errors.ts', 'crash-points.ts', 'node:'],
};

describe('layer rules', () => {
  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    test(`src/${layer} imports only ${allowed.join(', ')}`, () => {
      const offending: string[] = [];
      for (const file of filesUnder(layer)) {
        for (const spec of importsOf(file)) {
          if (!allowed.some((prefix) => spec.startsWith(prefix))) offending.push(`${path.relative(SRC, file)} → ${spec}`);
        }
      }
      expect(offending).toEqual([]);
    });
  }

  test('the mirror does not import the HTTP layer, the CLI or operations code', () => {
    const offending = filesUnder('mirror').flatMap((file) =>
      importsOf(file)
        .filter((spec) => /^(http|cli|ops|ui)\//.test(spec) || spec === 'elysia')
        .map((spec) => `${path.relative(SRC, file)} → ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  test('only the HTTP faces load Elysia', () => {
    const all = fs.readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const loaders = all.filter((f) => importsOf(path.join(SRC, f)).includes('elysia')).sort();
    for (const f of loaders) expect(f.startsWith('http/') || f.startsWith('cli/') || f === 'elysia.ts').toBe(true);
    expect(loaders.length).toBeGreaterThan(0);
  });
});
