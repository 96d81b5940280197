/**
 * TEST-ONLY crash points. The fault suite (test/faults/) sets `MARINA_CRASH_AT=<point>` (or `<point>@<n>` for the
 * n-th time the point is reached) on a `marina serve` process; when execution reaches that point the process
 * SIGKILLs itself, which is the harshest crash there is: no finally blocks, no flush, no exit handlers.
 * Without the variable each call costs one comparison. Place calls only at commit points, never in hot loops.
 */

/** The commit points a test can crash at. */
export type CrashPoint =
  /** An upload chunk (PATCH body) is written to the partial file, before the response. */
  | 'upload-after-write'
  /** A blob's bytes are fsynced in `uploads/`, before the rename into `blobs/`. */
  | 'blob-before-rename'
  /** A blob is renamed into `blobs/` (and the directory synced), before the repository link is written. */
  | 'blob-before-link'
  /** Inside the index's manifest write transaction, before it commits (pushes and mirrored manifests alike). */
  | 'manifest-in-transaction'
  /** A mirror fill's spool file is complete and digest-verified, before it is committed as a blob. */
  | 'mirror-fill-before-publish'
  /** A mirror fill's blob is committed and linked, before the fill completes (its readers get the last byte). */
  | 'mirror-fill-after-link';

const spec = process.env.MARINA_CRASH_AT;
const [target, nth] = spec ? spec.split('@') : [];
let remaining = nth ? Math.max(1, Number(nth) || 1) : 1;

/** SIGKILLs this process when `MARINA_CRASH_AT` names `point` (test-only; see the file comment). */
export function crashPoint(point: CrashPoint): void {
  if (target === undefined || point !== target) return;
  if (--remaining > 0) return;
  process.kill(process.pid, 'SIGKILL');
}
