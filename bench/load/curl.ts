/**
 * curl (C, libcurl) with parallel transfers: the second generator for loads bound by bytes. It reads in big
 * buffers, so on loopback it keeps up with a server sending several GiB/s where wrk (8 KiB reads) and the bundled
 * client saturate their core first; it can send a random `Range` and a different path per request.
 *
 * Every transfer prints its status and size on stderr (unbuffered, so nothing is lost when the window closes):
 * only transfers completed with an expected status count. Two ways to bound a load:
 * - a time window (bodies below {@link LARGE_BODY}): curl is stopped when it closes; transfers in flight do not count;
 * - a fixed number of whole transfers (bodies from {@link LARGE_BODY} on, where a window would cut most of them
 *   off): `connections × k` transfers, k sized from the expected rate so the run lasts about one window; the time
 *   runs until the last one completes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pinned } from '../lib/pinning.ts';
import { LatencyRecorder } from '../lib/stats.ts';
import type { HttpLoad, LoadResult } from './types.ts';

/** From this response size on, curl runs whole transfers instead of a time window. */
export const LARGE_BODY = 64 * 1024 * 1024;
/** Transfers one curl run lists: its scheduler slows down on lists of tens of thousands. */
const BATCH = 8192;
const MARK = 'CURLW ';
let batches = 0;

/** Options of {@link runCurl}. */
export interface CurlOptions {
  /** Expected bytes per second (from the first generator), to size whole-transfer runs; a guess is fine. */
  expectedBytesPerSec?: number;
}

/** Runs one GET or HEAD load with curl. */
export async function runCurl(curl: string, load: HttpLoad, cores: string, options: CurlOptions = {}): Promise<LoadResult> {
  if (load.walk) throw new Error('curl does not follow Link walks');
  const size = load.bodySize ?? 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-curl-'));
  try {
    const run = (count: number, capMs: number) => runBatch(curl, load, cores, path.join(dir, 'transfers.conf'), count, capMs);
    if (size >= LARGE_BODY) {
      const capMs = load.durationSec * 12_000 + 60_000;
      const t0 = performance.now();
      const batch = await run(wholeTransfers(load, size, options.expectedBytesPerSec), capMs);
      const result = tally(batch.lines, load, batch.stopped ? Number.NaN : (performance.now() - t0) / 1000);
      if (batch.stopped) result.firstError = `whole transfers not done within ${Math.round(capMs / 1000)} s`;
      return result;
    }
    // curl's parallel scheduler slows down with very long transfer lists: batches, until the window closes.
    const t0 = performance.now();
    const end = t0 + load.durationSec * 1000;
    const lines: string[] = [];
    let left = load.maxRequests;
    while (left > 0 && performance.now() < end) {
      const count = Math.min(left, BATCH);
      const batch = await run(count, end - performance.now());
      lines.push(...batch.lines);
      left -= count;
    }
    return tally(lines, load, (Math.min(performance.now(), end) - t0) / 1000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `count` transfers, stopping curl (transfers in flight then do not count) after `capMs`. */
async function runBatch(curl: string, load: HttpLoad, cores: string, config: string, count: number, capMs: number): Promise<{ lines: string[]; stopped: boolean }> {
  fs.writeFileSync(config, configText(load, count));
  // A fresh file per batch: the spawned process writes from offset 0 without truncating.
  const report = `${config}.${++batches}.out`;
  const argv = [curl, '--silent', '--no-progress-meter', '--parallel', '--parallel-immediate', '--parallel-max', String(load.connections), '--config', config];
  // Into a file, not a pipe: waking this process for every line cost curl a quarter of its throughput.
  const proc = Bun.spawn(pinned(cores, argv), { stdin: 'ignore', stdout: 'ignore', stderr: Bun.file(report) });
  let stopped = false;
  const timer = setTimeout(() => {
    stopped = true;
    proc.kill('SIGKILL');
  }, Math.max(0, capMs));
  await proc.exited;
  clearTimeout(timer);
  return { lines: transferLines(fs.readFileSync(report, 'latin1')), stopped };
}

/** `connections × k` transfers, k chosen so that the run lasts about one window at the expected rate. */
function wholeTransfers(load: HttpLoad, size: number, expectedBytesPerSec = 1024 ** 3): number {
  const perConnection = Math.round((expectedBytesPerSec * load.durationSec) / (size * load.connections));
  return load.connections * Math.min(64, Math.max(1, perConnection));
}

const WRITE_OUT = `%{stderr}${MARK}%{http_code} %{size_download} %{time_total}\\n`;

/**
 * The transfers as a curl config: one options block for all (`next`, which resets options, costs ~25% of curl's
 * throughput on 1 MiB bodies), or, with a random Range, one block per transfer, each with its own Range.
 */
function configText(load: HttpLoad, count: number): string {
  const options = [
    'silent',
    `write-out = "${WRITE_OUT}"`,
    ...Object.entries(load.headers).map(([k, v]) => `header = ${quote(`${k}: ${v}`)}`),
    load.method === 'HEAD' ? 'head' : '',
  ]
    .filter(Boolean)
    .join('\n');
  const transfer = (i: number) => `url = ${quote(`${load.baseUrl}${load.paths[i % load.paths.length]}`)}\noutput = "/dev/null"`;
  const entries: string[] = [];
  if (!load.randomRange) {
    for (let i = 0; i < count; i++) entries.push(transfer(i));
    return `${options}\n${entries.join('\n')}\n`;
  }
  const { length, size } = load.randomRange;
  for (let i = 0; i < count; i++) {
    const start = Math.floor(Math.random() * (size - length + 1));
    entries.push(`${options}\n${transfer(i)}\nrange = ${start}-${start + length - 1}`);
  }
  return `${entries.join('\nnext\n')}\n`;
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The transfer lines; anything else curl prints (a progress meter some versions show anyway) is skipped. */
function transferLines(text: string): string[] {
  // curl writes a line in several pieces: when the window's SIGKILL lands inside one, the unterminated tail is cut
  // off here (a truncated "CURLW 2" or size would count as an error or as wrong bytes).
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').flatMap((l) => {
    const at = l.indexOf(MARK);
    return at < 0 ? [] : [l.slice(at)];
  });
}

/** Counts completed transfers with an expected status; anything else is an error. */
function tally(lines: string[], load: HttpLoad, seconds: number): LoadResult {
  const latencies = new LatencyRecorder();
  let requests = 0;
  let errors = 0;
  let bytes = 0;
  let firstError: string | undefined;
  for (const line of lines) {
    const [code, got, total] = line.slice(MARK.length).split(' ').map(Number) as [number, number, number];
    if (!Number.isFinite(got) || !Number.isFinite(total)) continue;
    if (load.okStatus.includes(code)) {
      requests++;
      bytes += got;
      latencies.add(total * 1000);
    } else {
      errors++;
      firstError ??= code === 0 ? 'transfer failed (no HTTP status)' : `HTTP ${code}`;
    }
  }
  return { generator: 'curl', requests, errors, bytes, seconds, ...latencies.summary(), ...(firstError ? { firstError } : {}) };
}
