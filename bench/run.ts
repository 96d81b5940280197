/**
 * Marina's benchmark harness (issues #5 and #12). One command runs every scenario against Marina, CNCF Distribution 2.8
 * and v3 (when installed) and the Bun limits, side by side on the same data, and writes
 * bench/results/<name>.{md,json,svg}.
 *
 *   bun bench/run.ts            full matrix, pinned + unpinned (≤ 40 min on 2 cores; run it on a quiet machine)
 *                               → results/latest.*, README section updated
 *   bun bench/run.ts --quick    CI smoke test (< 3 min) → results/quick.*; fails only if the harness or Marina fails
 *   bun bench/run.ts --target-url <url> [marina bench options]   any registry (see `marina bench --help`)
 *
 * A full run exits non-zero when any figure fails its cross-check (two load generators > 25% apart); a quick
 * run reports such cases as failed but, on a shared CI machine, does not fail on them.
 *
 * Options: --targets marina,dist2,dist3,limit (full default: marina,dist3,limit)  --only <scenario,…,mirror,scale-out>
 *          --all-cases (also the cases the full profile leaves out)  --generator auto|bun  --no-cross-check
 *          --placement pinned|unpinned|both (full: both, quick: pinned)  --no-pin (= --placement unpinned)
 *          --marina-workers <n> (passes `--workers n` to `marina serve` for every main-matrix case)  --keep
 *          --workdir <dir>  --out <dir>  --name <name>  --budget <sec>  --profile-marina <dir>  --no-readme
 *          --marina-flags '<bun flags>' (e.g. --smol)  --dist2 <path>  --dist3 <path>
 *          --rounds <n> (rounds of every case, e.g. 3 in a quick run for a spread)  --s3 (quick: the S3 cases too)
 *
 * After the matrix, the pull-through mirror benchmark (bench/mirror/bench.ts, the same as `bun bench/mirror.ts`;
 * full: 64 MiB layer, 1/8/32 clients, ≈ 1 min; quick: 8 MiB, 1/4 clients), then the scale-out cases
 * (bench/scale-out/, unpinned): Marina 1 vs N workers vs Distribution v3, and (full profile, or --quick --s3) Marina
 * on S3 blobs in a local SeaweedFS vs on the filesystem. `--only mirror` or `--only scale-out` runs just those.
 *
 * A phase that throws (setup, a matrix placement, mirror, scale-out) does not lose the run: the results measured
 * before and after it are written, the report names the failed phase and its error (JSON: `failures`), and the run
 * exits 1. SIGINT/SIGTERM stop every server and process the run started, write what was measured (JSON:
 * `interrupted`) and exit 130/143; a second signal kills everything at once. An incomplete run never rewrites the
 * README section.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { FULL, QUICK, QUICK_S3, type Placement, type Profile } from './config.ts';
import { buildDataSet } from './data/dataset.ts';
import { descendants, killDescendants } from './lib/descendants.ts';
import { describeMachine } from './lib/machine.ts';
import { pinSelf, planPinning, unpin } from './lib/pinning.ts';
import { Progress } from './lib/progress.ts';
import { generatorVersions } from './load/generators.ts';
import { findTools } from './lib/tools.ts';
import { duration } from './lib/units.ts';
import { evaluateGoals } from './report/goals.ts';
import { RunJournal } from './report/journal.ts';
import type { CaseResult } from './report/results.ts';
import { runVerdict } from './report/verdict.ts';
import { MIRROR_FULL, MIRROR_QUICK, runMirrorBench } from './mirror/bench.ts';
import { updateReadmes, writeResults } from './report/write.ts';
import { plannedMeasurements, runScenarios } from './runner.ts';
import { blobGetScenario, rangeScenario } from './scenarios/blob-get.ts';
import { coldStartScenario } from './scenarios/cold-start.ts';
import { measureLimits } from './scenarios/limits.ts';
import { referrersScenario, tagsScenario } from './scenarios/listings.ts';
import { manifestScenario } from './scenarios/manifest-get.ts';
import { mixedScenario } from './scenarios/mixed.ts';
import { blobPushScenario, imagePushScenario } from './scenarios/push.ts';
import type { Scenario, ScenarioEnv } from './scenarios/types.ts';
import { BunLimitTarget } from './targets/bun-limit.ts';
import { DistributionStore, DistributionTarget } from './targets/distribution.ts';
import { MarinaTarget } from './targets/marina.ts';
import { runScaleOut, type ScaleOutOutput } from './scale-out/phase.ts';
import type { Target } from './targets/types.ts';

// `--target-url <url>` benchmarks one registry anywhere: the same command as `marina bench <url>`.
const targetUrlAt = process.argv.indexOf('--target-url');
if (targetUrlAt >= 0) {
  const { benchCommand } = await import('./remote/command.ts');
  const rest = process.argv.slice(2).filter((_, i) => i + 2 !== targetUrlAt);
  process.exit(await benchCommand(rest));
}

const { values: opts } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    quick: { type: 'boolean' },
    targets: { type: 'string' },
    only: { type: 'string' },
    generator: { type: 'string', default: 'auto' },
    'no-pin': { type: 'boolean' },
    placement: { type: 'string' },
    'no-cross-check': { type: 'boolean' },
    'all-cases': { type: 'boolean' },
    'marina-workers': { type: 'string' },
    s3: { type: 'boolean' },
    rounds: { type: 'string' },
    keep: { type: 'boolean' },
    workdir: { type: 'string' },
    out: { type: 'string' },
    name: { type: 'string' },
    budget: { type: 'string' },
    'profile-marina': { type: 'string' },
    'marina-flags': { type: 'string' },
    'no-readme': { type: 'boolean' },
    dist2: { type: 'string' },
    dist3: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (opts.help) {
  const doc = fs.readFileSync(import.meta.path, 'utf8');
  process.stdout.write(`${doc.slice(doc.indexOf('/**') + 3, doc.indexOf('*/')).replace(/^ \* ?/gm, '').trim()}\n`);
  process.exit(0);
}

const profile: Profile = { ...(opts.quick ? QUICK : FULL) };
if (opts.budget) profile.budgetSec = Number(opts.budget);
const only = opts.only ? new Set(opts.only.split(',')) : undefined;
// A partial run (--only) seeds only the big data its scenarios read, so profiling one scenario starts fast.
if (only && !only.has('cold-start')) {
  profile.coldStart = { ...profile.coldStart, bulkBlobs: 0 };
  if (!only.has('tags')) profile.tags = { ...profile.tags, count: 1 };
  if (!only.has('referrers')) profile.referrers = { ...profile.referrers, count: 2 };
}
if (opts['no-cross-check']) profile.crossCheck = false;
if (opts.rounds !== undefined) {
  const rounds = Number(opts.rounds);
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20)) throw new Error('--rounds must be a whole number from 1 to 20');
  profile.rounds = rounds;
  profile.heavyRounds = rounds;
}
if (opts.s3 && !profile.scaleOut.s3) profile.scaleOut = { ...profile.scaleOut, s3: QUICK_S3 };
if (opts['all-cases']) profile.skipCases = [];
if (opts['no-pin']) profile.placements = ['unpinned'];
if (opts.placement) {
  if (!['pinned', 'unpinned', 'both'].includes(opts.placement)) throw new Error('--placement is pinned, unpinned or both');
  profile.placements = opts.placement === 'both' ? ['pinned', 'unpinned'] : [opts.placement as Placement];
}
const workers = opts['marina-workers'] === undefined ? undefined : Number(opts['marina-workers']);
if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) throw new Error('--marina-workers must be a whole number ≥ 1');
const progress = new Progress();
const pinning = planPinning(profile.placements[0] === 'pinned');
pinSelf(pinning);
const workdir = opts.workdir ? path.resolve(opts.workdir) : fs.mkdtempSync(path.join(os.tmpdir(), 'marina-bench-'));
fs.mkdirSync(workdir, { recursive: true });
const outDir = path.resolve(opts.out ?? path.join(import.meta.dir, 'results'));
const name = opts.name ?? (profile.name === 'full' ? 'latest' : 'quick');
// Keep back time for stopping servers and writing reports, so the whole run stays inside the budget.
const deadline = performance.now() + (profile.budgetSec - (profile.name === 'full' ? 40 : 8)) * 1000;
const warnings: string[] = [];
const tools = findTools({ ...(opts.dist2 ? { dist2: opts.dist2 } : {}), ...(opts.dist3 ? { dist3: opts.dist3 } : {}) });
const wanted = new Set(opts.targets?.split(',') ?? profile.targets);

const targets: Target[] = [];
const env = { workdir, pinning };
const bunFlags = opts['marina-flags']?.split(/\s+/).filter(Boolean) ?? [];
if (opts['profile-marina']) bunFlags.push('--cpu-prof', `--cpu-prof-dir=${path.resolve(opts['profile-marina'])}`);
if (wanted.has('marina')) targets.push(new MarinaTarget(env, { bunFlags, ...(workers ? { workers } : {}) }));
const distStore = new DistributionStore(path.join(workdir, 'distribution'));
for (const [id, label, binary, hint] of [
  ['dist2', 'Distribution 2.8', tools.dist2, 'Debian docker-registry (bash .ci/install-tools.sh upstream)'],
  ['dist3', 'Distribution v3', tools.dist3, 'registry-v3 (bash .ci/install-tools.sh bench)'],
] as const) {
  if (!wanted.has(id)) continue;
  if (binary) targets.push(new DistributionTarget(env, { id, label, binary }, distStore));
  else warnings.push(`${label} not found: ${hint}; its column is empty`);
}
if (wanted.has('limit')) targets.push(new BunLimitTarget(env));

const generatorEnv = { tools, cores: pinning.load, bunOnly: opts.generator === 'bun', crossCheck: profile.crossCheck };
if (!tools.wrk && !generatorEnv.bunOnly) warnings.push('wrk not found: small GETs use the bundled Bun client');
if (!tools.oha && !generatorEnv.bunOnly) warnings.push('oha not found: HEAD uses the bundled Bun client');
if (!tools.curl && !generatorEnv.bunOnly) warnings.push('curl not found: big bodies and random ranges are measured by wrk and the bundled Bun client, which saturate their core first');
const generators = generatorVersions(tools, generatorEnv.bunOnly);

const startedAt = new Date();
const machine = describeMachine(workdir);
let finishing: Promise<never> | undefined;
const command = ['bun bench/run.ts', ...process.argv.slice(2)].join(' ');
const journal = new RunJournal(
  { mode: profile.name, command, startedAt: startedAt.toISOString().replace(/\.\d+Z$/, 'Z'), machine, generators },
  () => progress.elapsed(),
);
journal.warnings.push(...warnings);
progress.note(`${profile.name} run in ${workdir}; budget ${profile.budgetSec} s`);
progress.note(pinning.description);
progress.note(`targets: ${targets.map((t) => `${t.label} ${t.version}`).join(', ')}`);
for (const w of warnings) progress.note(`warning: ${w}`);

const stopAll = () => Promise.allSettled(targets.map((t) => t.stop()));
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second signal does not wait for anything: every process this run started is killed at once.
    if (++signals > 1) {
      for (const pid of descendants()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    journal.interrupt(signal);
    progress.note(`${signal}: stopping servers, then writing what was measured`);
    void finish();
  });
}

// An error thrown outside any await (a stream's error event, a timer) fails the phase running now, not the whole run.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (e: unknown) => {
    journal.fail(journal.current ?? 'harness', e);
    progress.note(`${event} during ${journal.current ?? 'the harness'}: ${e instanceof Error ? e.message : String(e)}; stopping servers, then writing what was measured`);
    void finish();
  });
}

await journal.phase('harness', main);
await finish();

/** The run's phases, each through the journal: one that throws is recorded and the run goes on with the next. */
async function main(): Promise<void> {
  const setup = await journal.phase('setup', async () => {
    progress.note('measuring limits (SHA-256, disk write + fsync)');
    const limits = measureLimits(profile, workdir);
    journal.limits = limits;
    progress.note(`SHA-256 ${limits.sha256MiBps.toFixed(0)} MiB/s, disk write + fsync ${limits.diskWriteFsyncMiBps.toFixed(0)} MiB/s`);
    let t = performance.now();
    const data = buildDataSet(profile, path.join(workdir, 'content'));
    journal.seedingSec['data set'] = (performance.now() - t) / 1000;
    for (const target of targets) {
      t = performance.now();
      progress.note(`seeding ${target.label}`);
      await target.seed(data);
      journal.seedingSec[target.label] = (performance.now() - t) / 1000;
    }
    progress.note(`seeded in ${Object.entries(journal.seedingSec).map(([k, v]) => `${k} ${duration(v)}`).join(', ')}`);
    for (const target of targets) {
      const ms = await target.start();
      progress.note(`${target.label} up at ${target.baseUrl} (pid ${target.pid}, ${ms.toFixed(0)} ms)`);
    }
    return { data };
  });
  if (!setup) return;

  const scenarioEnv: ScenarioEnv = { profile, data: setup.data, generators: generatorEnv, workdir };
  const all: Scenario[] = [
    blobGetScenario(scenarioEnv),
    manifestScenario(scenarioEnv),
    rangeScenario(scenarioEnv),
    tagsScenario(scenarioEnv),
    referrersScenario(scenarioEnv),
    coldStartScenario(scenarioEnv),
    imagePushScenario(scenarioEnv),
    mixedScenario(scenarioEnv),
    // Last: its heaviest cases (8 × 1 GiB) are what the time caps cut first.
    blobPushScenario(scenarioEnv),
  ];
  const leftOut = new Set(profile.skipCases);
  const scenarios = all.filter((s) => !only || only.has(s.id)).map((s) => ({ ...s, cases: s.cases.filter((c) => !leftOut.has(c.id)) }));
  // An unpinned placement after the pinned one: the peer comparison on one case per shape (see Profile.unpinned).
  const unpinnedScenarios = scenarios.map((s) => ({ ...s, cases: s.cases.filter((c) => profile.unpinned.cases.some((id) => id === s.id || id === c.id)) })).filter((s) => s.cases.length);
  const unpinnedTargets = targets.filter((t) => profile.unpinned.targets.includes(t.id));
  const subset = (i: number, placement: Placement) => i > 0 && placement === 'unpinned';
  progress.plan(profile.placements.reduce((n, p, i) => n + (subset(i, p) ? plannedMeasurements(unpinnedScenarios, unpinnedTargets) : plannedMeasurements(scenarios, targets)), 0));
  journal.scenarios.push(...scenarios.map((s) => ({ id: s.id, title: s.title, description: s.description })));
  for (const [i, placement] of profile.placements.entries()) {
    await journal.phase(`matrix (${placement})`, async () => {
      const here = subset(i, placement) ? unpinnedTargets : targets;
      if (i > 0) {
        // Every server restarts free to use every core (as users run them), and so do the load generators.
        await stopAll();
        if (placement === 'unpinned' && pinning.enabled) unpin(pinning);
        generatorEnv.cores = pinning.load;
        for (const target of here) await target.start();
      }
      journal.placements.push(`${placement}: ${pinning.description}`);
      progress.note(`placement ${placement}: ${pinning.description}${here.length < targets.length ? `; ${here.map((t) => t.label).join(', ')}` : ''}`);
      // Each case lands in the journal as soon as it is measured, so a later failure or a signal keeps it.
      const onCase = (c: CaseResult) => journal.cases.push(placement === 'pinned' && pinning.enabled ? { ...c, placement } : { ...c, id: `${c.id}@unpinned`, title: `${c.title} (unpinned)`, placement: 'unpinned' as const });
      await runScenarios(subset(i, placement) ? unpinnedScenarios : scenarios, here, { deadline, scenarioCapSec: profile.scenarioCapSec, onCase }, progress);
    });
  }
  // The pull-through mirror (bench/mirror/bench.ts, as `bun bench/mirror.ts` runs it): its own servers, unpinned.
  if ((!only || only.has('mirror')) && targets.some((t) => t.id === 'marina')) {
    await journal.phase('mirror', async () => {
      if (performance.now() > deadline) {
        journal.warnings.push('time budget reached; the mirror phase did not run');
        return;
      }
      await stopAll();
      if (pinning.enabled) unpin(pinning);
      const chosen = profile.name === 'full' ? MIRROR_FULL : MIRROR_QUICK;
      // About a minute when all is well: a stalled mirror costs at most 4 minutes of the run's budget, then fails the phase.
      const mirrorProfile = { ...chosen, overallLimitMs: Math.max(30_000, Math.min(chosen.overallLimitMs, 4 * 60_000, deadline - performance.now())) };
      progress.note(`mirror (unpinned): ${mirrorProfile.layerBytes / 2 ** 20} MiB layer, ${mirrorProfile.clients.join('/')} clients, Marina${tools.dist2 ? ' and Distribution 2.8' : ''}`);
      journal.mirror = await runMirrorBench({
        profile: mirrorProfile,
        command: `${command} (mirror phase)`,
        workdir: path.join(workdir, 'mirror'),
        ...(tools.dist2 ? { distribution: tools.dist2 } : {}),
        log: (line) => progress.note(line),
      });
    });
  }
  // Scale-out (issue #11): 1 vs N workers vs Distribution v3, and S3 vs filesystem blobs; unpinned, after the matrix.
  if (!only || only.has('scale-out')) {
    await journal.phase('scale-out', async () => {
      // Filled as the phase goes: what it measured before a failure is still reported.
      const scaled: ScaleOutOutput = { cases: [], scenarios: [], targets: [], warnings: [] };
      try {
        await runScaleOut({ profile, scenarioEnv, pinning, targets, deadline, scenarioCapSec: profile.scenarioCapSec, progress }, scaled);
      } finally {
        targets.push(...scaled.targets);
        journal.scenarios.push(...scaled.scenarios.map((s) => ({ id: s.id, title: s.title, description: s.description })));
        journal.cases.push(...scaled.cases);
        journal.warnings.push(...scaled.warnings);
      }
    });
  }
}

/**
 * Stops every server (and anything else this run started), writes what the journal holds, removes the work
 * directory and exits — once, whether the run ended, a phase failed or a signal came.
 */
function finish(): Promise<never> {
  finishing ??= (async () => {
    await stopAll();
    const leftover = await killDescendants();
    if (leftover.length) progress.note(`stopped ${leftover.length} leftover process(es): ${leftover.join(', ')}`);
    let exitCode = 1;
    try {
      exitCode = report();
    } catch (e) {
      progress.note(`could not write the results: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    progress.finish();
    if (!opts.keep && !opts.workdir) fs.rmSync(workdir, { recursive: true, force: true });
    else progress.note(`kept ${workdir}`);
    process.exit(exitCode);
  })();
  return finishing;
}

/** Writes the results (and, after a whole full run, the README section), prints the goals and the verdict. */
function report(): number {
  const results = journal.results(targets.map((x) => ({ id: x.id, label: x.label, role: x.role, version: x.version, notes: x.notes })));
  const skipped = results.cases.flatMap((c) => Object.entries(c.targets).filter(([, r]) => r.status === 'skipped').map(([id]) => `${c.id}@${id}`));
  if (skipped.length) results.warnings.push(`time cap reached; not measured: ${skipped.join(', ')}`);
  const files = writeResults(results, outDir, name);
  progress.note(`wrote ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
  if (profile.name === 'full' && !opts['no-readme'] && !opts.out && !opts.only && !opts.targets) {
    if (journal.incomplete) progress.note(`the READMEs are left as they were (an incomplete run); \`bun bench/report/render.ts ${path.relative(process.cwd(), files[0]!)} --readme\` puts these results there`);
    else for (const readme of updateReadmes(import.meta.dir, results, name)) progress.note(`updated ${readme}`);
  }
  for (const g of evaluateGoals(results)) progress.note(`goal: ${g.goal}: ${g.measured} (goal ${g.target}): ${g.verdict}`);

  // Every Marina target is a subject: its failures and errors fail the run.
  const verdicts = targets.filter((t) => t.role === 'subject').map((t) => runVerdict(results.cases, profile.name, t.id));
  const verdict = { disputed: [...new Set(verdicts.flatMap((v) => v.disputed))], broken: verdicts.flatMap((v) => v.broken), exitCode: Math.max(...verdicts.map((v) => v.exitCode), 0) };
  for (const d of verdict.disputed) progress.note(`CROSS-CHECK FAILED: ${d}`);
  for (const b of verdict.broken) progress.note(`FAILED on Marina: ${b}`);
  for (const f of journal.failures) progress.note(`PHASE FAILED: ${f.phase}: ${f.stack ?? f.error}`);
  if (journal.interrupted) progress.note(`INTERRUPTED by ${journal.interrupted.signal}${journal.interrupted.phase ? ` during ${journal.interrupted.phase}` : ''}`);
  progress.note(`done in ${duration(progress.elapsed())}`);
  return journal.exitCode(verdict.exitCode);
}
