/**
 * A run's exit verdict, never a speed threshold: the subject's cases measured without errors, and — in the full
 * profile — every figure's two generators within the cross-check tolerance. A quick run on a shared machine reports
 * disputed figures without failing on them.
 */
import { crossCheckFailed, type CaseResult } from './results.ts';

/** Why a run fails (empty lists: it passes). */
export interface RunVerdict {
  exitCode: 0 | 1;
  /** `<case>@<target>: <reason>` for every figure whose generators disagreed. */
  disputed: string[];
  /** `<case>: <reason>` for every case the subject failed or saw errors in. */
  broken: string[];
}

/** The verdict on `cases` for the subject target (`marina`, or `remote` for `marina bench`). */
export function runVerdict(cases: CaseResult[], mode: 'quick' | 'full', subject: string): RunVerdict {
  const disputed = cases.flatMap((c) =>
    Object.entries(c.targets)
      .filter(([, t]) => crossCheckFailed(t))
      .map(([id, t]) => `${c.id}@${id}: ${t.reason}`),
  );
  const broken = cases.flatMap((c) => {
    const s = c.targets[subject];
    if (!s) return [];
    const failed = (s.status === 'failed' && !crossCheckFailed(s)) || s.errors > 0;
    return failed ? [`${c.id}: ${s.status === 'failed' && !crossCheckFailed(s) ? s.reason : `${s.errors} errors`}`] : [];
  });
  const exitCode = broken.length > 0 || (mode === 'full' && disputed.length > 0) ? 1 : 0;
  return { exitCode, disputed, broken };
}
