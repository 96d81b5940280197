/**
 * The scale-out cases (issue #11), run after the main matrix and always unpinned, as users run servers:
 * - workers: manifest GET and 1 KiB blob GET (and, in the full profile, image push) on Marina as one process, on
 *   Marina `--workers N` and on Distribution v3 (Go, every core);
 * - S3: blob GETs and pushes on Marina with its blobs in S3 vs on the filesystem. The S3 server is a SeaweedFS
 *   started here on the same machine: it competes for the same cores, so these figures show the cost of the S3
 *   round trips and of SeaweedFS's own work, not of a remote object store.
 */
import type { Profile } from '../config.ts';
import { unpin, type Pinning } from '../lib/pinning.ts';
import type { Progress } from '../lib/progress.ts';
import { KiB } from '../lib/units.ts';
import type { CaseResult } from '../report/results.ts';
import { plannedMeasurements, runScenarios } from '../runner.ts';
import { blobGetScenario } from '../scenarios/blob-get.ts';
import { manifestScenario } from '../scenarios/manifest-get.ts';
import { blobPushScenario, imagePushScenario } from '../scenarios/push.ts';
import type { Scenario, ScenarioEnv } from '../scenarios/types.ts';
import { MarinaTarget } from '../targets/marina.ts';
import type { Target } from '../targets/types.ts';
import { MarinaS3Target } from './s3-target.ts';
import { startSeaweedFs } from '../../test/support/seaweedfs.ts';

/** What the phase needs from the run. */
export interface ScaleOutInput {
  profile: Profile;
  scenarioEnv: ScenarioEnv;
  pinning: Pinning;
  /** Every target of the main run (all are stopped first; Marina and Distribution v3 are restarted unpinned). */
  targets: Target[];
  deadline: number;
  scenarioCapSec: number;
  progress: Progress;
}

/** What the phase adds to the run's results. */
export interface ScaleOutOutput {
  cases: CaseResult[];
  scenarios: Scenario[];
  /** Targets it added (Marina --workers N, Marina on S3), for the report's target table. */
  targets: Target[];
  warnings: string[];
}

/**
 * Runs the scale-out cases; every server it starts is stopped before it returns. Fills `out` as it goes (each case
 * as soon as it is measured), so what was measured survives a later failure of the phase.
 */
export async function runScaleOut(input: ScaleOutInput, out: ScaleOutOutput = { cases: [], scenarios: [], targets: [], warnings: [] }): Promise<ScaleOutOutput> {
  const { profile, pinning, progress } = input;
  const marina = input.targets.find((t): t is MarinaTarget => t instanceof MarinaTarget && t.id === 'marina');
  const dist3 = input.targets.find((t) => t.id === 'dist3');
  if (!marina) {
    out.warnings.push('scale-out cases need the marina target; not measured');
    return out;
  }
  await Promise.allSettled(input.targets.map((t) => t.stop()));
  if (pinning.enabled) unpin(pinning);
  input.scenarioEnv.generators.cores = pinning.load;
  const env = { workdir: input.scenarioEnv.workdir, pinning };
  const limits = { deadline: input.deadline, scenarioCapSec: input.scenarioCapSec, onCase: (c: CaseResult) => out.cases.push(...unpinned([c])) };
  const { workers, connections, imagePush, s3 } = profile.scaleOut;

  // --- one process vs N workers vs Distribution v3 ---
  const many = new MarinaTarget(env, { id: `marina-w${workers}`, label: `Marina --workers ${workers}`, workers, seedFrom: marina.data });
  out.targets.push(many);
  progress.note(`scale-out: seeding ${many.label} (a copy of Marina's data directory, blobs hard-linked)`);
  await many.seed(input.scenarioEnv.data);
  const workerEnv = withProfile(input.scenarioEnv, { manifest: { connections }, blobGet: { sizes: [1 * KiB], concurrency: [connections] } });
  const workerScenarios = [
    retag(manifestScenario(workerEnv), 'scale-out', 'Scale-out', (c) => c.id.includes('/get-')),
    retag(blobGetScenario(workerEnv), 'scale-out', 'Scale-out'),
    ...(imagePush ? [retag(imagePushScenario(workerEnv), 'scale-out', 'Scale-out')] : []),
  ];
  const workerTargets = [marina, many, ...(dist3 ? [dist3] : [])];
  try {
    for (const t of workerTargets) await t.start();
    progress.extend(plannedMeasurements(workerScenarios, workerTargets));
    progress.note(`scale-out (unpinned): ${workerTargets.map((t) => t.label).join(' vs ')}`);
    out.scenarios.push(...workerScenarios);
    await runScenarios(workerScenarios, workerTargets, limits, progress);
  } finally {
    await Promise.allSettled(workerTargets.map((t) => t.stop()));
  }

  // --- S3 blobs (SeaweedFS on this machine) vs the filesystem ---
  if (!s3) return out;
  let weed: Awaited<ReturnType<typeof startSeaweedFs>>;
  try {
    weed = await startSeaweedFs();
    await weed.createBucket('marina-bench');
  } catch (e) {
    out.warnings.push(`S3 cases not measured: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    return out;
  }
  const sizes = s3.blobGet.sizes;
  const onS3 = new MarinaS3Target(env, { endpoint: weed.endpoint, region: weed.region, accessKeyId: weed.accessKeyId, secretAccessKey: weed.secretAccessKey, bucket: 'marina-bench', prefix: 'bench' }, sizes);
  out.targets.push(onS3);
  const s3Env = withProfile(input.scenarioEnv, { blobGet: s3.blobGet, push: { ...profile.push, cases: s3.push } });
  const s3Scenarios = [retag(blobGetScenario(s3Env), 's3', 'S3 vs filesystem'), retag(blobPushScenario(s3Env), 's3', 'S3 vs filesystem')];
  const s3Targets = [marina, onS3];
  try {
    progress.note(`S3: seeding ${onS3.label}`);
    await onS3.seed(input.scenarioEnv.data);
    for (const t of s3Targets) await t.start();
    progress.extend(plannedMeasurements(s3Scenarios, s3Targets));
    progress.note(`S3 (unpinned; SeaweedFS on the same cores): ${s3Targets.map((t) => t.label).join(' vs ')}`);
    out.scenarios.push(...s3Scenarios);
    await runScenarios(s3Scenarios, s3Targets, limits, progress);
  } finally {
    await Promise.allSettled(s3Targets.map((t) => t.stop()));
    await onS3.settle();
    await weed.stop();
  }
  return out;
}

/** The scenario environment with parts of the profile replaced. */
function withProfile(env: ScenarioEnv, changes: Partial<Profile>): ScenarioEnv {
  return { ...env, profile: { ...env.profile, ...changes } };
}

/** A scenario under its own id and title (so the report gives it its own table), optionally with fewer cases. */
function retag(s: Scenario, prefix: string, label: string, keep: (c: Scenario['cases'][number]) => boolean = () => true): Scenario {
  return {
    ...s,
    id: `${prefix}/${s.id}`,
    title: `${label}: ${s.title} (unpinned)`,
    cases: s.cases.filter(keep).map((c) => ({ ...c, id: `${prefix}/${c.id}` })),
  };
}

/** Marks cases as measured unpinned, as run.ts does for the main matrix. */
function unpinned(cases: CaseResult[]): CaseResult[] {
  return cases.map((c) => ({ ...c, id: `${c.id}@unpinned`, title: `${c.title} (unpinned)`, placement: 'unpinned' as const }));
}
