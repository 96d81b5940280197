/**
 * `marina bench <url>` (and `npm run bench -- --target-url <url>`): the benchmark's scenarios against any OCI
 * registry, with the same generators, cross-checks and Markdown/JSON/SVG report as the matrix run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { FULL, QUICK, type Profile } from '../config.ts';
import { buildDataSet, reposFor, type DataSet } from '../data/dataset.ts';
import { describeMachine } from '../lib/machine.ts';
import { Progress } from '../lib/progress.ts';
import { generatorVersions } from '../load/generators.ts';
import { findTools } from '../lib/tools.ts';
import { duration, num } from '../lib/units.ts';
import type { RunResults } from '../report/results.ts';
import { runVerdict } from '../report/verdict.ts';
import { writeResults } from '../report/write.ts';
import { plannedMeasurements, runScenarios } from '../runner.ts';
import { blobGetScenario, rangeScenario } from '../scenarios/blob-get.ts';
import { referrersScenario, tagsScenario } from '../scenarios/listings.ts';
import { manifestScenario } from '../scenarios/manifest-get.ts';
import { blobPushScenario, imagePushScenario } from '../scenarios/push.ts';
import type { Scenario, ScenarioEnv } from '../scenarios/types.ts';
import { existingContent, remoteProfile } from './profile.ts';
import { RemoteTarget } from './target.ts';

export const BENCH_HELP = `Usage: marina bench <registry-url> [options]

Measures an OCI registry (any: Marina, Distribution, Harbor, zot, a hub) with the scenarios of Marina's benchmark:
blob GET (small and big, 1 and many clients), Range reads, manifest GET/HEAD by tag and digest, tags list walks,
referrers, whole-image pushes and blob pushes (monolithic and chunked). Every figure is measured by two load
generators (wrk or oha when installed, the bundled Bun clients otherwise); a case whose two figures are more than
25% apart is reported as failed. Writes <out>/<name>.{md,json,svg}; progress goes to stderr.

By default it first pushes its own content under --prefix (blobs, a manifest, tagged manifests, referrers), then
measures. Pushes stay in the registry (the API has no portable way to delete blobs): use a scratch namespace.

Options:
  --quick                   small sizes, 1 s windows, one round (about a minute); default: the full profile
                            (5 s windows after a warm-up, 2 rounds)
  --username <user>         credentials (env MARINA_BENCH_USERNAME); Basic or the Bearer token flow, as the
  --password <password>     registry asks (env MARINA_BENCH_PASSWORD; prefer the env var over the flag)
  --trusted-realm <host>    a token realm on another host that may receive the credentials (repeatable)
  --prefix <namespace>      where seeded and pushed content goes (default marina-bench)
  --repository <name[:tag]> measure pulls on content already there (default tag latest) instead of seeding
  --read-only               pull scenarios only: no push scenarios (with --repository nothing is written at all)
  --only <ids>              scenarios: blob-get,range,manifest,tags,referrers,image-push,push
  --generator bun           use only the bundled Bun clients (no wrk/oha)
  --no-cross-check          measure each figure once, with one generator
  --window <seconds>        load window of every measurement (default 1 quick, 5 full; wrk and oha round it to
                            whole seconds, at least 1)
  --budget <seconds>        stop starting measurements after this long (default 170 quick, 9000 full)
  --out <dir>               report directory (default ./marina-bench-results)
  --name <name>             report file name (default bench)
  --insecure                accept any TLS certificate
  -h, --help                show this help

Examples:
  marina bench http://127.0.0.1:5000 --quick
  MARINA_BENCH_PASSWORD=secret marina bench https://registry.example.com --username ci --prefix ci/bench
  marina bench https://registry.example.com --repository library/alpine:3.20 --read-only --quick
`;

const SCENARIOS = ['blob-get', 'range', 'manifest', 'tags', 'referrers', 'image-push', 'push'];

/** Runs the command; resolves with the exit code (0 ok, 1 a case failed, 2 usage). */
export async function benchCommand(argv: string[]): Promise<number> {
  const { values: o, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      username: { type: 'string' },
      password: { type: 'string' },
      'trusted-realm': { type: 'string', multiple: true },
      prefix: { type: 'string', default: 'marina-bench' },
      repository: { type: 'string' },
      'read-only': { type: 'boolean' },
      only: { type: 'string' },
      generator: { type: 'string', default: 'auto' },
      'no-cross-check': { type: 'boolean' },
      window: { type: 'string' },
      budget: { type: 'string' },
      out: { type: 'string', default: 'marina-bench-results' },
      name: { type: 'string', default: 'bench' },
      insecure: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (o.help) {
    process.stdout.write(BENCH_HELP);
    return 0;
  }
  const usage = (message: string) => {
    process.stderr.write(`marina bench: ${message}\n\n${BENCH_HELP}`);
    return 2;
  };
  const url = positionals[0];
  if (!url || positionals.length > 1) return usage('give exactly one registry URL');
  if (!/^https?:\/\/[^/]+/.test(url)) return usage(`not an http(s) URL: ${url}`);
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(o.prefix)) return usage(`--prefix must be a repository namespace, got "${o.prefix}"`);
  const only = o.only ? new Set(o.only.split(',')) : undefined;
  for (const id of only ?? []) if (!SCENARIOS.includes(id)) return usage(`unknown scenario "${id}" (one of ${SCENARIOS.join(', ')})`);
  const username = o.username ?? process.env.MARINA_BENCH_USERNAME;
  const password = o.password ?? process.env.MARINA_BENCH_PASSWORD;
  if ((username === undefined) !== (password === undefined)) return usage('give both a username and a password, or neither');
  if (o.insecure) {
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    process.env.MARINA_BENCH_INSECURE = '1';
  }

  let profile: Profile = remoteProfile({ ...(o.quick ? QUICK : FULL) });
  if (o.window !== undefined) {
    const w = Number(o.window);
    if (!(w > 0 && w <= 600)) return usage('--window is a number of seconds in (0, 600]');
    profile = { ...profile, windowSec: w, bigWindowSec: w, warmupSec: Math.min(profile.warmupSec, w / 2), push: { ...profile.push, windowSec: w }, image: { ...profile.image, windowSec: w } };
  }
  if (o.budget !== undefined) {
    const b = Number(o.budget);
    if (!(b > 0)) return usage('--budget is a number of seconds');
    profile = { ...profile, budgetSec: b };
  }
  if (o['no-cross-check']) profile = { ...profile, crossCheck: false };

  const progress = new Progress();
  const deadline = performance.now() + profile.budgetSec * 1000;
  const repos = reposFor(o.prefix);
  const [existingRepo, existingTag = 'latest'] = o.repository ? splitReference(o.repository) : [];
  const readOnly = Boolean(o['read-only']);
  const pushes = { repository: repos.push, actions: ['pull', 'push'] as ('pull' | 'push')[] };
  const scopes = existingRepo ? [{ repository: existingRepo, actions: ['pull'] as ('pull' | 'push')[] }] : Object.entries(repos).filter(([k]) => k !== 'bulkPrefix').map(([, r]) => ({ ...pushes, repository: r }));
  if (!readOnly && existingRepo) scopes.push(pushes, { ...pushes, repository: repos.images });
  if (!readOnly) for (let i = 0; i < profile.image.clients; i++) scopes.push({ ...pushes, repository: `${repos.images}-${i}` });
  const target = new RemoteTarget({ url, scopes, ...(username !== undefined ? { credentials: { username, password: password! } } : {}), trustedRealmHosts: o['trusted-realm'] ?? [] });

  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-bench-remote-'));
  const tools = findTools();
  const bunOnly = o.generator === 'bun';
  const generators = generatorVersions(tools, bunOnly);
  const warnings: string[] = [];
  const startedAt = new Date();
  let code = 0;
  try {
    progress.note(`${profile.name} benchmark of ${url}${username ? ` as ${username}` : ''}; budget ${profile.budgetSec} s`);
    await withDeadline(target.start(), deadline, 'authentication');
    let data: DataSet;
    if (existingRepo) {
      progress.note(`reading ${existingRepo}:${existingTag}`);
      ({ data, profile } = await withDeadline(existingContent(target.client(), existingRepo, existingTag, profile), deadline, 'reading the repository'));
    } else {
      data = buildDataSet(profile, path.join(workdir, 'content'), repos);
      progress.note(`seeding ${data.getBlobs.length + data.small.length} blobs and ${data.manifests.length} manifests under ${o.prefix}/`);
      await withDeadline(target.seed(data), deadline, 'seeding').catch((e: Error) => {
        const denied = /HTTP 40[13]/.test(e.message);
        throw new Error(`seeding under ${o.prefix}/ failed: ${e.message}${denied ? `; the registry refused ${username ? `${username}` : 'anonymous access'}: give credentials that may push there (--username/--password) or choose --prefix` : ''}`);
      });
    }
    const env: ScenarioEnv = { profile, data, generators: { tools, cores: '', bunOnly, crossCheck: profile.crossCheck }, workdir };
    let scenarios: Scenario[] = [blobGetScenario(env), manifestScenario(env), tagsScenario(env)];
    if (data.getBlobs.at(-1)!.size >= 200) scenarios.push(rangeScenario(env));
    else warnings.push('range reads skipped: the largest blob is under 200 bytes');
    if (data.referrers.total > 0) scenarios.push(referrersScenario(env));
    else warnings.push(`referrers skipped: ${data.referrers.subject} has none`);
    if (!readOnly) scenarios.push(imagePushScenario(env), blobPushScenario(env));
    scenarios = scenarios.filter((s) => !only || only.has(s.id));
    progress.plan(plannedMeasurements(scenarios, [target]));
    const cases = await runScenarios(scenarios, [target], { deadline, scenarioCapSec: profile.scenarioCapSec }, progress);
    progress.finish();
    const results: RunResults = {
      schema: 1,
      kind: 'remote',
      mode: profile.name,
      command: ['marina bench', ...argv.map((a) => (a === password ? '***' : a))].join(' '),
      startedAt: startedAt.toISOString().replace(/\.\d+Z$/, 'Z'),
      durationSec: progress.elapsed(),
      machine: describeMachine(workdir),
      pinning: 'not pinned: the load generators run on this machine, the registry wherever it is',
      generators,
      targets: [{ id: target.id, label: target.label, role: target.role, version: target.version, notes: target.notes }],
      limits: { sha256MiBps: Number.NaN, diskWriteFsyncMiBps: Number.NaN, hashBytes: 0, diskBytes: 0 },
      seedingSec: {},
      scenarios: scenarios.map((s) => ({ id: s.id, title: s.title, description: s.description })),
      cases,
      warnings,
    };
    const files = writeResults(results, path.resolve(o.out), o.name);
    for (const c of cases) {
      const r = c.targets.remote!;
      const crossText = r.cross ? ` (${r.cross.generator}: ${num(r.cross.median)})` : '';
      const shown = r.status === 'ok' ? `${num(r.median)} ${c.unit}${crossText}${r.errors ? `, ${r.errors} errors` : ''}` : `${r.status.toUpperCase()}: ${r.reason ?? ''}`;
      process.stdout.write(`${c.title}: ${shown}\n`);
    }
    const verdict = runVerdict(cases, profile.name, 'remote');
    const skipped = cases.filter((c) => c.targets.remote?.status === 'skipped').map((c) => c.id);
    // As in the matrix run, what the budget cut is reported (skipped), not failed.
    if (skipped.length) process.stderr.write(`warning: the budget ran out before ${skipped.join(', ')}\n`);
    code = verdict.exitCode;
    process.stdout.write(`report: ${files.join(', ')}\n`);
    progress.note(`done in ${duration(progress.elapsed())}`);
  } catch (e) {
    progress.finish();
    process.stderr.write(`marina bench: ${e instanceof Error ? e.message : String(e)}\n`);
    code = 1;
  } finally {
    await target.stop();
    fs.rmSync(workdir, { recursive: true, force: true });
  }
  return code;
}

/** `name:tag` → [name, tag]; a `:` before the last `/` belongs to a host and port. */
function splitReference(ref: string): [string, string | undefined] {
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, undefined];
}

async function withDeadline<T>(work: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: Timer | undefined;
  const cap = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within the budget`)), Math.max(0, deadline - performance.now()));
  });
  try {
    return await Promise.race([work, cap]);
  } finally {
    clearTimeout(timer);
  }
}

if (import.meta.main) void benchCommand(process.argv.slice(2)).then((code) => process.exit(code));
