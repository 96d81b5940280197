/** The mirror benchmark's results: rows, the Markdown table and the files under bench/results/. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** One target at one client count: a cold round and a warm round. */
export interface MirrorRow {
  target: string;
  clients: number;
  coldMs: number;
  warmMs: number;
  /** Upstream blob GETs (cold + warm). */
  upstreamBlobGets: number;
  /** Upstream blob response bytes (cold + warm). */
  upstreamBlobBytes: number;
  /** Upstream blob bytes of the warm round alone (expected 0). */
  warmUpstreamBlobBytes: number;
  failures: number;
  firstError?: string;
  /**
   * Cold round: each client's first layer byte minus the later of the upstream's first blob byte (at the proxy) and
   * the client's own layer request, ms — how long a client joining a fetch in flight waits beyond what the upstream
   * imposes. p50 and max over the clients that succeeded.
   */
  joinerFirstByteMs?: { p50: number; max: number };
}

/** Everything a report shows. */
export interface MirrorReport {
  command: string;
  machine: string;
  layerBytes: number;
  seconds: number;
  rows: MirrorRow[];
  /** Targets that could not be measured, with the reason. */
  skipped: { target: string; reason: string }[];
}

const MiB = 2 ** 20;

/** The report as Markdown: machine, command, the table, notes. */
export function toMarkdown(r: MirrorReport): string {
  const lines = [
    '# Pull-through mirror benchmark',
    '',
    `Machine: ${r.machine}`,
    '',
    `Command: \`${r.command}\` (${r.seconds.toFixed(0)} s). Image: config + one ${(r.layerBytes / MiB).toFixed(0)} MiB layer; every client`,
    'GETs the manifest by tag, then the layer, and checks its sha256. Upstream columns count /blobs/ traffic at a',
    'proxy in front of the upstream, cold + warm (warm alone in parentheses), counted after upstream traffic went idle;',
    'the warm round starts 500 ms after that.',
    'The N clients run in the harness process on the same machine and hash every byte, so on few cores large-N',
    'times are bound by the clients; the upstream columns are the cache-efficiency figures.',
    '',
    'First byte after upstream: in the cold round, each client\'s first layer byte minus the later of the moment the',
    'upstream\'s first blob byte reached the proxy and the client\'s own layer request (a client that joins late is timed',
    'from its request); one clock, all in the harness process; p50 / max over the clients. The clients share the',
    'harness\'s event loop with their hashing, so at large N the figure is an upper bound.',
    '',
    '| target | N | cold ms | warm ms | first byte after upstream, ms (p50 / max) | upstream blob GETs | upstream MiB (warm) | MiB per client | failures |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of r.rows) {
    const mib = row.upstreamBlobBytes / MiB;
    lines.push(
      `| ${row.target} | ${row.clients} | ${row.coldMs.toFixed(0)} | ${row.warmMs.toFixed(0)} | ${row.joinerFirstByteMs ? `${row.joinerFirstByteMs.p50.toFixed(1)} / ${row.joinerFirstByteMs.max.toFixed(1)}` : '–'} | ${row.upstreamBlobGets} | ` +
        `${mib.toFixed(1)} (${(row.warmUpstreamBlobBytes / MiB).toFixed(1)}) | ${(mib / row.clients).toFixed(1)} | ${row.failures} |`,
    );
  }
  const notes = [...r.rows.filter((row) => row.firstError).map((row) => `${row.target} N=${row.clients}: ${row.firstError}`), ...r.skipped.map((s) => `${s.target} skipped: ${s.reason}`)];
  if (notes.length) lines.push('', ...notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

/** Writes `<name>.md` and `<name>.json` into `dir`; returns the Markdown. */
export function writeReport(dir: string, name: string, report: MirrorReport): string {
  const md = toMarkdown(report);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.md`), md);
  fs.writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  return md;
}
