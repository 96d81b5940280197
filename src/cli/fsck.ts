/** `marina fsck`: check (and optionally repair) a data directory's index against its blob store and uploads. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { checkStores, type Finding, type FsckProgress, type FsckReport } from '../core/fsck.ts';
import { MirrorLedger } from '../mirror/ledger.ts';
import { fsStorage } from '../storage/storage.ts';
import { formatBytes } from './cache.ts';

export const FSCK_HELP = `Usage: marina fsck [options]

Checks a data directory: every repository link names a stored blob, every manifest's blobs and child manifests are
present, every tag names a stored manifest, every blob file's bytes hash to its name; and reports garbage: blob
files no repository links, partial uploads no open session claims, stale upload sessions.

With --repair it fixes what can be fixed without losing pushed content: corrupt blob files are moved to
<data>/lost+found/ and the links to them (and to missing files) removed, so clients upload those blobs again;
blobs a manifest references but its repository does not link are linked; garbage older than the grace period is
removed. Manifests and tags are never deleted: a manifest whose content is gone is reported for a re-push.
Without --repair it may run beside a live server; run --repair with the server stopped.

Options:
  --data <dir>        data directory (default ./data, env MARINA_DATA)
  --repair            fix what can be fixed, and report what was done
  --grace <seconds>   garbage younger than this is reported, not removed (default 3600)
  --skip-hash         do not hash blob files (much faster; corrupt files go unnoticed)
  --json              print the report as JSON on stdout
  -q, --quiet         no progress lines on stderr
  -h, --help          show this help

Exit status: 0 when the data is consistent (garbage may remain), 1 when errors remain (found and not repaired),
2 when the check could not run.
`;

/** Runs `marina fsck`; resolves to the exit status. */
export async function fsck(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      data: { type: 'string' },
      repair: { type: 'boolean' },
      grace: { type: 'string' },
      'skip-hash': { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(FSCK_HELP);
    return 0;
  }
  if (values.grace !== undefined && !/^\d{1,10}$/.test(values.grace)) throw new Error(`--grace must be a whole number of seconds, got "${values.grace}"`);
  const data = path.resolve(values.data ?? process.env.MARINA_DATA ?? './data');
  if (!fs.existsSync(path.join(data, 'index')) || !fs.existsSync(path.join(data, 'blobs'))) {
    process.stderr.write(`marina fsck: ${data} is not a Marina data directory (no index/ and blobs/)\n`);
    return 2;
  }
  const repair = values.repair ?? false;
  const out = (line: string) => values.json || process.stdout.write(`${line}\n`);
  const storage = fsStorage({ root: data });
  // A mirror's manifests are filled lazily; its ledger (when there is one) says which they are.
  const ledgerFile = path.join(data, 'mirror.sqlite');
  const mirrored = fs.existsSync(ledgerFile) ? new MirrorLedger(ledgerFile) : undefined;
  try {
    out(`checking ${data}${repair ? ' (repairing)' : ''}`);
    const report = await checkStores(storage, {
      repair,
      verifyBlobs: !values['skip-hash'],
      graceMs: values.grace !== undefined ? Number(values.grace) * 1000 : undefined,
      onProgress: values.quiet ? undefined : throttledProgress(),
      onFinding: (f) => out(formatFinding(f)),
      lazy: mirrored && ((repository, digest) => mirrored.hasImage(repository, digest)),
    });
    if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else for (const line of summary(report, repair)) out(line);
    return report.remainingErrors > 0 ? 1 : 0;
  } finally {
    await storage.blobs.close();
    await storage.index.close();
    storage.ledger.close();
    mirrored?.close();
  }
}

function formatFinding(f: Finding): string {
  const label = f.severity === 'error' ? 'ERROR  ' : 'garbage';
  const where = [f.repository, f.digest].filter(Boolean).join(' ');
  return `${label} ${f.kind.padEnd(22)} ${where}: ${f.message}${f.repaired ? ` -> REPAIRED: ${f.repaired}` : ''}`;
}

function summary(r: FsckReport, repair: boolean): string[] {
  const errors = r.findings.filter((f) => f.severity === 'error');
  const garbage = r.findings.filter((f) => f.severity === 'garbage');
  const repaired = r.findings.filter((f) => f.repaired);
  const byKind = (list: Finding[]) => Object.entries(Object.groupBy(list, (f) => f.kind)).map(([k, v]) => `${v!.length} ${k}`).join(', ') || 'none';
  return [
    `checked ${r.repositories} repositories, ${r.manifests} manifests, ${r.tags} tags, ${r.links} links, ${r.blobs} blob files (${formatBytes(r.hashedBytes)} hashed), ${r.uploads} upload sessions`,
    `errors: ${byKind(errors)}`,
    `garbage: ${byKind(garbage)}${garbage.length && !repair ? ' (marina fsck --repair reclaims it)' : ''}`,
    ...(repair ? [`repaired: ${repaired.length}`] : []),
    result(r, repair),
  ];
}

function result(r: FsckReport, repair: boolean): string {
  if (!r.remainingErrors) return 'result: consistent';
  const left = r.findings.filter((f) => f.severity === 'error' && !f.repaired);
  const fixable = left.filter((f) => f.repairable).length;
  const parts = [`${left.length - fixable} need a client to re-push`];
  if (fixable) parts.push(`${fixable} ${repair ? 'could not be repaired now' : 'can be fixed with --repair'}`);
  return `result: ${r.remainingErrors} error(s) remain: ${parts.join(', ')}`;
}

/** Progress on stderr: a line when a phase starts, then at most one a second (long runs show where they are). */
function throttledProgress(): (p: FsckProgress) => void {
  let next = 0;
  let phase = '';
  return (p) => {
    const now = Date.now();
    if (now < next && p.phase === phase) return;
    next = now + 1000;
    phase = p.phase;
    const of = p.total !== undefined ? `/${p.total}` : '';
    const bytes = p.bytes !== undefined ? ` (${formatBytes(p.bytes)})` : '';
    process.stderr.write(`fsck: ${p.phase} ${p.done}${of}${bytes}\n`);
  };
}
