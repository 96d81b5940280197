/**
 * Re-renders the Markdown and SVG (and optionally the README section) from a results JSON, without measuring:
 *
 *   bun bench/report/render.ts bench/results/latest.json [--readme]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { RunResults } from './results.ts';
import { updateReadmes, writeResults } from './write.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { readme: { type: 'boolean' } } });
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: bun bench/report/render.ts <results.json> [--readme]\n');
  process.exit(2);
}
// JSON has no NaN: numbers that were not finite were written as null.
const results = JSON.parse(fs.readFileSync(file, 'utf8'), (_k, v: unknown) => (v === null ? Number.NaN : v)) as RunResults;
const name = path.basename(file, '.json');
const written = writeResults(results, path.dirname(file), name);
process.stdout.write(`wrote ${written.join(', ')}\n`);
if (values.readme) for (const readme of updateReadmes(path.join(import.meta.dir, '..'), results, name)) process.stdout.write(`updated ${readme}\n`);
