/** Writes a run's results: `<name>.json`, `<name>.md`, `<name>.svg`, and the README's results section. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { evaluateGoals, goalTable } from './goals.ts';
import { renderMarkdown, resultTables } from './markdown.ts';
import type { RunResults } from './results.ts';
import { renderSvg } from './svg.ts';

const BEGIN = '<!-- results:begin (written by bench/run.ts; do not edit by hand) -->';
const END = '<!-- results:end -->';

/** Writes the three result files; returns their paths. */
export function writeResults(results: RunResults, dir: string, name: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files = { json: path.join(dir, `${name}.json`), md: path.join(dir, `${name}.md`), svg: path.join(dir, `${name}.svg`) };
  const json = { ...results, goals: evaluateGoals(results) };
  fs.writeFileSync(files.json, `${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  fs.writeFileSync(files.md, renderMarkdown(results));
  fs.writeFileSync(files.svg, renderSvg(results));
  return Object.values(files);
}

/**
 * Replaces a README's results section (between the markers) with this run's goals, chart and — unless `brief` —
 * tables. `base` is the path from the README to bench/ ('' for bench/README.md, 'bench/' for the project's).
 */
export function updateReadme(readme: string, results: RunResults, name: string, options: { base?: string; brief?: boolean } = {}): boolean {
  if (!fs.existsSync(readme)) return false;
  const text = fs.readFileSync(readme, 'utf8');
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) return false;
  const base = options.base ?? '';
  const report = `${base}results/${name}.md`;
  const goals = evaluateGoals(results);
  const section = [
    BEGIN,
    '',
    `Run of ${results.startedAt} (${results.mode}, ${Math.round(results.durationSec)} s) on ${results.machine.cpu}, ${results.machine.cores} cores, load average ${results.machine.loadAverage.toFixed(2)} at start; ${results.targets.map((t) => `${t.label} ${t.version}`).join(', ')}. Full report with latency, server CPU and memory per cell: [${report}](${report}).`,
    '',
    ...goalTable(goals),
    '',
    `![throughput per case](${base}results/${name}.svg)`,
    '',
    // One heading level down: the README's own section is `## Latest results`.
    ...(options.brief ? [] : [resultTables(results).replace(/^### /gm, '#### ').replace(/^## Results/m, '### Results')]),
    END,
  ].join('\n');
  fs.writeFileSync(readme, text.slice(0, begin) + section + text.slice(end + END.length));
  return true;
}

/** Updates the results sections of bench/README.md (goals, chart, tables) and the project README (goals, chart). */
export function updateReadmes(benchDir: string, results: RunResults, name: string): string[] {
  const updated: string[] = [];
  if (updateReadme(path.join(benchDir, 'README.md'), results, name)) updated.push('bench/README.md');
  if (updateReadme(path.join(benchDir, '..', 'README.md'), results, name, { base: 'bench/', brief: true })) updated.push('README.md');
  return updated;
}
