/**
 * Summarises a V8/JSC `.cpuprofile` (from `bun --cpu-prof`, e.g. via `bun bench/run.ts --profile-marina <dir>`):
 * the functions with the most self time and the most inclusive time, with file:line.
 *
 *   bun bench/profile/summarize.ts <file.cpuprofile> [--top 25] [--match src/]
 *
 * `--match` keeps only frames whose URL contains the text in the inclusive list (e.g. Marina's own code).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One function's share of the samples. */
export interface FunctionCost {
  frame: string;
  selfPct: number;
  totalPct: number;
}

/** Self and inclusive sample shares per function (file:line), idle and GC frames included as reported. */
export function summarize(profile: CpuProfile, cwd = process.cwd()): FunctionCost[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) => {
    const f = n.callFrame;
    const file = f.url ? path.relative(cwd, f.url.replace(/^file:\/\//, '')) : '(native)';
    return `${f.functionName || '(anonymous)'} ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const id of profile.samples) {
    const leaf = byId.get(id);
    if (!leaf) continue;
    self.set(key(leaf), (self.get(key(leaf)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let n: ProfileNode | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) {
      const k = key(n);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + 1);
    }
  }
  const all = profile.samples.length || 1;
  return [...total.keys()].map((frame) => ({ frame, selfPct: ((self.get(frame) ?? 0) / all) * 100, totalPct: ((total.get(frame) ?? 0) / all) * 100 }));
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, match: { type: 'string' } } });
  const file = positionals[0];
  if (!file) {
    process.stderr.write('usage: bun bench/profile/summarize.ts <file.cpuprofile> [--top N] [--match TEXT]\n');
    process.exit(2);
  }
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const costs = summarize(profile);
  const top = Number(values.top);
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  process.stdout.write(`${file}: ${profile.samples.length} samples over ${seconds.toFixed(1)} s\n\nSelf time:\n`);
  for (const c of [...costs].sort((a, b) => b.selfPct - a.selfPct).slice(0, top)) process.stdout.write(`${c.selfPct.toFixed(1).padStart(6)}%  ${c.frame}\n`);
  process.stdout.write(`\nInclusive time${values.match ? ` (frames matching "${values.match}")` : ''}:\n`);
  const inclusive = costs.filter((c) => !values.match || c.frame.includes(values.match)).sort((a, b) => b.totalPct - a.totalPct);
  for (const c of inclusive.slice(0, top)) process.stdout.write(`${c.totalPct.toFixed(1).padStart(6)}%  ${c.frame}\n`);
}
