/**
 * Renders throughput per case per target as an SVG bar chart: one group per case, one bar per target, scaled
 * to the best target of that case (units differ between cases). Time and memory cases are left out.
 */
import { num } from '../lib/units.ts';
import type { RunResults } from './results.ts';

const COLORS: Record<string, string> = { marina: '#0b7285', dist2: '#adb5bd', dist3: '#495057', limit: '#f08c00' };
const FALLBACK = ['#5f3dc4', '#c92a2a', '#2b8a3e'];
const WIDTH = 1040;
const LABEL_W = 140;
const BAR_W = 780;
const BAR_H = 12;
const GAP = 3;
const TITLE_H = 18;
const GROUP_PAD = 12;

/** The chart as an SVG document. */
export function renderSvg(r: RunResults): string {
  const cases = r.cases.filter((c) => c.higherIsBetter && Object.values(c.targets).some((t) => t.status === 'ok'));
  const color = (id: string, i: number) => COLORS[id] ?? FALLBACK[i % FALLBACK.length]!;
  const groupH = TITLE_H + r.targets.length * (BAR_H + GAP) + GROUP_PAD;
  const top = 70;
  const height = top + cases.length * groupH + 20;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(text(12, 22, `Marina benchmark (${r.mode}, ${r.startedAt.slice(0, 10)}): throughput per case, bars scaled to the best target of each case`, 'font-size="14" font-weight="600"'));
  r.targets.forEach((t, i) => {
    const x = 12 + i * 190;
    out.push(`<rect x="${x}" y="38" width="12" height="12" fill="${color(t.id, i)}"/>`);
    out.push(text(x + 17, 48, `${t.label} ${t.version}`.slice(0, 30)));
  });
  cases.forEach((c, g) => {
    const y0 = top + g * groupH;
    out.push(text(12, y0 + 12, `${c.title} (${c.unit})`, 'font-weight="600"'));
    const best = Math.max(...Object.values(c.targets).map((t) => (t.status === 'ok' ? t.median : 0)));
    r.targets.forEach((t, i) => {
      const res = c.targets[t.id];
      // A target this case never ran on (the scale-out targets in the main matrix) leaves its row empty.
      if (!res) return;
      const y = y0 + TITLE_H + i * (BAR_H + GAP);
      out.push(text(LABEL_W - 8, y + BAR_H - 2, t.label, 'text-anchor="end" fill="#495057"'));
      if (!res || res.status !== 'ok') {
        out.push(text(LABEL_W, y + BAR_H - 2, res ? res.status : 'not run', 'fill="#adb5bd"'));
        return;
      }
      const w = best > 0 ? Math.max(1, (res.median / best) * BAR_W) : 1;
      out.push(`<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${color(t.id, i)}"/>`);
      out.push(text(LABEL_W + w + 5, y + BAR_H - 2, `${num(res.median)}`));
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x}" y="${y}" ${attrs}>${escape(s)}</text>`;
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
