/**
 * Line charts drawn on the server as inline SVG: no chart library, no script, readable without JavaScript and
 * under a strict Content-Security-Policy (presentation by CSS classes, no inline styles). Only numbers computed
 * here go into coordinates; labels pass through the escaping template.
 */
import { formatTime } from './format.ts';
import { html, type SafeHtml } from './html.ts';

/** One line: a label and its points (time in ms, value). */
export interface Series {
  label: string;
  points: [number, number][];
}

/** Chart options. */
export interface ChartOptions {
  title: string;
  series: Series[];
  /** Formats the y axis labels. */
  format: (value: number) => string;
  /** A horizontal reference line (e.g. the cache budget). */
  limit?: { value: number; label: string };
  width?: number;
  height?: number;
}

const PAD = { left: 64, right: 12, top: 12, bottom: 28 };

/** An SVG line chart with a legend; a short note instead when there are fewer than two samples. */
export function lineChart(options: ChartOptions): SafeHtml {
  const width = options.width ?? 720;
  const height = options.height ?? 200;
  const points = options.series.flatMap((s) => s.points);
  if (points.length < 2) return html`<figure><figcaption>${options.title}</figcaption><p class="muted">Not enough samples yet.</p></figure>`;
  const t0 = Math.min(...points.map((p) => p[0]));
  const t1 = Math.max(...points.map((p) => p[0]));
  const top = Math.max(1, options.limit?.value ?? 0, ...points.map((p) => p[1]));
  const x = (t: number) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (width - PAD.left - PAD.right);
  const y = (v: number) => height - PAD.bottom - (v / top) * (height - PAD.top - PAD.bottom);
  const fixed = (n: number) => n.toFixed(1);
  const lines = options.series.map(
    (s, i) => html`<polyline class="s${i % 3}" points="${s.points.map(([t, v]) => `${fixed(x(t))},${fixed(y(v))}`).join(' ')}"><title>${s.label}</title></polyline>`,
  );
  const last = options.series.map((s) => s.points.at(-1)?.[1]);
  const description = options.series.map((s, i) => `${s.label}: ${last[i] === undefined ? 'no data' : options.format(last[i]!)}`).join('; ');
  return html`<figure>
<figcaption>${options.title}</figcaption>
<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${options.title}. Latest: ${description}">
<line class="axis" x1="${PAD.left}" y1="${fixed(y(0))}" x2="${width - PAD.right}" y2="${fixed(y(0))}"></line>
<line class="axis" x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${fixed(y(0))}"></line>
<text x="${PAD.left - 6}" y="${PAD.top + 4}" text-anchor="end">${options.format(top)}</text>
<text x="${PAD.left - 6}" y="${fixed(y(0))}" text-anchor="end">${options.format(0)}</text>
<text x="${PAD.left}" y="${height - 8}">${formatTime(t0)}</text>
<text x="${width - PAD.right}" y="${height - 8}" text-anchor="end">${formatTime(t1)}</text>
${options.limit ? html`<line class="axis" stroke-dasharray="4 4" x1="${PAD.left}" y1="${fixed(y(options.limit.value))}" x2="${width - PAD.right}" y2="${fixed(y(options.limit.value))}"><title>${options.limit.label}</title></line>` : ''}
${lines}
</svg>
<p class="legend">${options.series.map((s, i) => html`<span class="k${i % 3}">━ ${s.label}: ${last[i] === undefined ? '–' : options.format(last[i]!)}</span>`)}</p>
</figure>`;
}
