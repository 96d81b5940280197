/** Reads a Prometheus text exposition into `name{label="v",...}` → value, labels sorted, for exact assertions. */

/** Sample values by series key. */
export type Samples = Map<string, number>;

/** The series key of a metric name and labels, labels in name order. */
export function series(name: string, labels: Record<string, string> = {}): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return pairs.length ? `${name}{${pairs.join(',')}}` : name;
}

/** Parses exposition text (no escaped quotes in label values: Marina's labels never contain them). */
export function parseExposition(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').split(',').filter(Boolean)) {
      const eq = pair.indexOf('=');
      labels[pair.slice(0, eq)] = pair.slice(eq + 2, -1);
    }
    out.set(series(m[1]!, labels), Number(m[3]));
  }
  return out;
}

/** Fetches and parses `/metrics`. */
export async function scrape(baseUrl: string): Promise<Samples> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseExposition(await res.text());
}

/** How much a series grew between two scrapes (a missing series counts as 0). */
export function delta(before: Samples, after: Samples, name: string, labels: Record<string, string> = {}): number {
  const key = series(name, labels);
  return (after.get(key) ?? 0) - (before.get(key) ?? 0);
}
