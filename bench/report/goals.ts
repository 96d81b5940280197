/** The issue's performance targets, checked against a run's results. */
import { marinaRatio, type CaseResult, type RunResults } from './results.ts';

/** One target of the issue and how the run measured up. */
export interface GoalResult {
  goal: string;
  verdict: 'met' | 'not met' | 'partly met' | 'not measured';
  /** Cases met out of cases measured, and the worst case. */
  detail: string;
}

interface RatioGoal {
  goal: string;
  scenario: string;
  against: string;
  /** Marina's ratio (> 1 = better) must reach this. */
  atLeast: number;
  /** How to show a ratio. */
  show(ratio: number): string;
  /** Restricts the cases (e.g. to 1-client pushes). */
  filter?(c: CaseResult): boolean;
}

const pct = (r: number) => `${(r * 100).toFixed(0)}%`;
const times = (r: number) => `${r.toFixed(2)}×`;

const RATIO_GOALS: RatioGoal[] = [
  { goal: 'Blob GET ≥ 90% of the raw Bun.file server', scenario: 'blob-get', against: 'limit', atLeast: 0.9, show: pct },
  { goal: 'Blob GET ahead of Distribution v3', scenario: 'blob-get', against: 'dist3', atLeast: 1, show: times },
  { goal: 'Manifest GET/HEAD ≥ 80% of the in-memory Bun.serve', scenario: 'manifest', against: 'limit', atLeast: 0.8, show: pct },
  { goal: 'Manifest GET/HEAD ≥ 3× Distribution v3', scenario: 'manifest', against: 'dist3', atLeast: 3, show: times },
  {
    goal: 'Push (issue: 100 MiB; measured at the matrix sizes) within 1.15× the time of the minimal Bun upload handler',
    scenario: 'push',
    against: 'limit',
    atLeast: 1 / 1.15,
    // Time ratio = limit throughput / Marina throughput.
    show: (r) => `${(1 / r).toFixed(3)}× the time`,
  },
];

/** Evaluates every goal. */
export function evaluateGoals(results: RunResults): GoalResult[] {
  const goals = RATIO_GOALS.map((g) => ratioGoal(results.cases, g));
  goals.push(memoryGoal(results.cases));
  return goals;
}

function ratioGoal(cases: CaseResult[], g: RatioGoal): GoalResult {
  const measured = cases
    .filter((c) => c.scenario === g.scenario && (!g.filter || g.filter(c)))
    .map((c) => ({ c, r: marinaRatio(c, g.against) }))
    .filter((x) => Number.isFinite(x.r));
  if (measured.length === 0) return { goal: g.goal, verdict: 'not measured', detail: `no case with both Marina and ${g.against} measured` };
  const met = measured.filter((x) => x.r >= g.atLeast);
  const worst = measured.reduce((a, b) => (b.r < a.r ? b : a));
  const best = measured.reduce((a, b) => (b.r > a.r ? b : a));
  const verdict = met.length === measured.length ? 'met' : met.length === 0 ? 'not met' : 'partly met';
  const missed = measured.filter((x) => x.r < g.atLeast);
  const misses = verdict === 'partly met' ? `; missed: ${missed.map((x) => `${x.c.title} ${g.show(x.r)}`).join(', ')}` : '';
  return { goal: g.goal, verdict, detail: `${met.length}/${measured.length} cases; worst ${g.show(worst.r)} (${worst.c.title}); best ${g.show(best.r)} (${best.c.title})${misses}` };
}

function memoryGoal(cases: CaseResult[]): GoalResult {
  const goal = 'Peak RSS < 100 MiB while 16 clients push and pull 1 GiB blobs';
  const mixed = cases.find((c) => c.scenario === 'mixed');
  const m = mixed?.targets.marina;
  if (!mixed || !m || m.status !== 'ok') return { goal, verdict: 'not measured', detail: 'the push + pull case did not run for Marina' };
  const peak = m.median;
  const others = cases
    .filter((c) => c.scenario === 'push' || c.scenario === 'blob-get')
    .map((c) => ({ c, rss: c.targets.marina?.peakRssMiB ?? Number.NaN }))
    .filter((x) => Number.isFinite(x.rss));
  const worst = others.reduce<{ c: CaseResult; rss: number } | undefined>((a, b) => (!a || b.rss > a.rss ? b : a), undefined);
  const also = worst ? `; highest in other push/pull cases ${worst.rss.toFixed(0)} MiB (${worst.c.title})` : '';
  return { goal, verdict: peak < 100 ? 'met' : 'not met', detail: `${peak.toFixed(0)} MiB in "${mixed.title}"${also}` };
}
