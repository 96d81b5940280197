/** Renders a run as Markdown: setup, the issue's goals, one table per scenario with ratios, then the details. */
import { duration, mib, num } from '../lib/units.ts';
import { toMarkdown, type MirrorReport } from '../mirror/report.ts';
import { evaluateGoals, goalTable } from './goals.ts';
import { crossCheckFailed, cpuUnit, marinaRatio, type CaseResult, type RunResults, type TargetResult } from './results.ts';

/** The whole report. */
export function renderMarkdown(r: RunResults): string {
  const out: string[] = [];
  if (r.kind === 'remote') {
    out.push(`# Registry benchmark (marina bench) — ${r.mode} run`, '');
    out.push(...setup(r), '');
    out.push('Cold start and peak server memory need a local process and are not measured against a remote registry.', '');
    out.push(resultTables(r), '## Details', '', detailTable(r), '');
    if (r.warnings.length) out.push('## Warnings', '', ...r.warnings.map((w) => `- ${w}`), '');
    return out.join('\n');
  }
  out.push(`# Marina benchmark — ${r.mode} run`, '');
  out.push(...incomplete(r));
  out.push(...setup(r), '');
  out.push('## Goals (issue #12)', '', 'Ratios are Marina ÷ the other target, measured side by side in this run (pinned placement; unpinned figures in the detail); a figure that failed its cross-check does not count.', '');
  out.push(...goalTable(evaluateGoals(r)));
  out.push('', resultTables(r));
  if (r.mirror) out.push('## Pull-through mirror', '', 'The mirror phase of this run (after the matrix, unpinned): the same benchmark as `bun bench/mirror.ts`.', '', mirrorSection(r.mirror), '');
  out.push('## Details', '', detailTable(r), '');
  if (r.warnings.length) out.push('## Warnings', '', ...r.warnings.map((w) => `- ${w}`), '');
  return out.join('\n');
}

/** A warning at the top when a phase failed or a signal stopped the run: what is missing, and why. */
export function incomplete(r: RunResults): string[] {
  if (!r.failures?.length && !r.interrupted) return [];
  const lines = ['## ⚠ Incomplete run', ''];
  if (r.interrupted) lines.push(`- **Interrupted** by ${r.interrupted.signal} after ${duration(r.interrupted.atSec)}${r.interrupted.phase ? `, during phase \`${r.interrupted.phase}\`` : ''}; nothing after it ran.`);
  for (const f of r.failures ?? []) lines.push(`- **Phase \`${f.phase}\` failed** after ${duration(f.atSec)}: ${f.error}`);
  lines.push('', 'The tables hold what was measured before (and, after a failed phase, after) it; goals whose cases did not run say so. The full error is in the JSON (`failures[].stack`).', '');
  return lines;
}

/** The mirror phase's table, without the standalone report's title. */
function mirrorSection(m: MirrorReport): string {
  return toMarkdown(m).replace(/^# .*\n\n/, '').trimEnd();
}

/** Machine, command, targets, generators and limits. */
function setup(r: RunResults): string[] {
  const m = r.machine;
  const lines = [
    `- **When**: ${r.startedAt}, ${duration(r.durationSec)} in all; command \`${r.command}\``,
    `- **Machine**: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.os}, Linux ${m.kernel}, data on ${m.filesystem}; load average at start ${m.loadAverage.toFixed(2)}`,
    `- **Pinning**: ${r.pinning}`,
    `- **Load generators**: ${Object.entries(r.generators)
      .map(([k, v]) => `${k} (${v})`)
      .join(', ')}; each cell names the one that produced it`,
    `- **Limits of this machine**: SHA-256 (Bun.CryptoHasher) ${num(r.limits.sha256MiBps)} MiB/s on one core; disk sequential write + fsync ${num(r.limits.diskWriteFsyncMiBps)} MiB/s`,
    `- **Seeding**: ${Object.entries(r.seedingSec)
      .map(([k, v]) => `${k} ${duration(v)}`)
      .join(', ')}`,
    '',
    '| Target | Version | Notes |',
    '| --- | --- | --- |',
    ...r.targets.map((t) => `| ${t.label} | ${t.version} | ${t.notes.join('; ')} |`),
  ];
  return lines;
}

/** One table per scenario: medians per target, then Marina's ratio to each other target (> 1 = Marina better). */
export function resultTables(r: RunResults): string {
  const out: string[] = [];
  out.push('## Results', '');
  out.push('Median of the rounds; ± is half the range between the best and worst round, relative to the median (min and max per cell are in the details). A cell `✗ a vs b` failed its cross-check: the second load generator measured b, more than 25% away from a, so the figure is not reported as a result. Ratios are Marina ÷ target for throughput and target ÷ Marina for time and memory, so above 1× always means Marina is better.', '');
  for (const s of r.scenarios) {
    const cases = r.cases.filter((c) => c.scenario === s.id);
    if (!cases.length) continue;
    // Only the targets this scenario ran on (the scale-out tables have targets of their own).
    const present = r.targets.filter((t) => cases.some((c) => c.targets[t.id]));
    const others = present.filter((t) => t.role !== 'subject');
    out.push(`### ${s.title}`, '', s.description, '');
    // Other Marinas (--workers N, S3 blobs) are compared with the one-process, filesystem Marina: their ÷ Marina.
    const variants = present.filter((t) => t.role === 'subject' && t.id !== 'marina');
    const ratioHeads = [...others.map((t) => `Marina vs ${t.label}`), ...variants.map((t) => `${t.label} ÷ Marina`)];
    out.push(row(['Case', 'Unit', ...present.map((t) => t.label), ...ratioHeads]));
    out.push(row(['---', '---', ...present.map(() => '---:'), ...ratioHeads.map(() => '---:')]));
    for (const c of cases) {
      const cells = present.map((t) => cell(c.targets[t.id]));
      const times = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–');
      const ratios = [...others.map((t) => times(marinaRatio(c, t.id))), ...variants.map((t) => times(variantRatio(c, t.id)))];
      out.push(row([c.title, c.unit, ...cells, ...ratios]));
    }
    const gaps = new Map<string, string>();
    for (const c of cases) {
      for (const t of present) {
        const x = c.targets[t.id];
        if (x && x.status !== 'ok' && !gaps.has(t.id)) gaps.set(t.id, `${t.label}: ${x.status}${x.reason ? ` (${x.reason})` : ''}`);
      }
    }
    if (gaps.size) out.push('', `n/a — ${[...gaps.values()].join('; ')}.`);
    const remarks = present.flatMap((t) => cases.map((c) => c.targets[t.id]?.note).filter(Boolean).slice(0, 1).map((n) => `${t.label}: ${n}`));
    if (remarks.length) out.push('', `Note — ${remarks.join('; ')}.`);
    out.push('');
  }
  return out.join('\n');
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** A variant's median ÷ the one-process Marina's (NaN unless both were measured and trusted). */
function variantRatio(c: CaseResult, id: string): number {
  const m = c.targets.marina;
  const v = c.targets[id];
  return m && v && m.status === 'ok' && v.status === 'ok' ? v.median / m.median : Number.NaN;
}

function cell(t: TargetResult | undefined): string {
  if (!t) return '–';
  if (crossCheckFailed(t)) return `✗ ${num(t.median)} vs ${num(t.cross!.median)}`;
  if (t.status !== 'ok') return 'n/a';
  const spread = t.samples.length > 1 ? ` ±${(t.spread * 50).toFixed(0)}%` : '';
  return `${num(t.median)}${spread}${t.errors ? ` ⚠${t.errors} errors` : ''}`;
}

/** Spread (min/median/max), cross-check, latency, server CPU, peak RSS and the generators of every measured cell. */
function detailTable(r: RunResults): string {
  const out = [
    '| Case | Target | Min | Median | Max | Rounds | Cross-check (median, gap) | p50 | p99 | Server CPU | Server CPU per unit | Server peak RSS | Errors | Generator |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const c of r.cases) {
    for (const t of r.targets) {
      const x = c.targets[t.id];
      if (!x || (x.status !== 'ok' && !crossCheckFailed(x))) continue;
      const ms = (v: number | undefined) => (v === undefined ? '–' : `${num(v)} ms`);
      const cross = x.cross ? `${x.cross.generator} ${num(x.cross.median)}, ${Number.isFinite(x.cross.disagreement) ? `${(x.cross.disagreement * 100).toFixed(0)}%` : '∞'}${crossCheckFailed(x) ? ' **FAILED**' : ''}` : 'none';
      out.push(
        `| ${c.title} | ${t.label} | ${num(x.min)} | ${num(x.median)} ${c.unit} | ${num(x.max)} | ${x.samples.length} | ${cross} | ${ms(x.p50Ms)} | ${ms(x.p99Ms)} | ${x.cpuShare === undefined ? '–' : `${(x.cpuShare * 100).toFixed(0)}%`} | ${x.cpuPerUnit === undefined ? '–' : `${num(x.cpuPerUnit)} ${cpuUnit(c.unit)}`} | ${x.peakRssMiB === undefined ? '–' : mib(x.peakRssMiB * 2 ** 20)} | ${x.errors} | ${x.generator} |`,
      );
    }
  }
  return out.join('\n');
}
