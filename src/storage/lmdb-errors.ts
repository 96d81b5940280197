/**
 * How LMDB (lmdb-js) reports a failed write, made usable: lmdb-js rejects a failed commit with a generic
 * "Commit failed" error whose real cause (ENOSPC, EIO, MDB_MAP_FULL) sits in a second, separately rejected promise,
 * and it also prints that cause with its stack trace to stderr through `console.error`. Here the cause is brought
 * back into the error's `cause` chain (so `storageFailure` in errors.ts can map it), and lmdb's own print is
 * dropped (the registry logs the failure once, as a structured line).
 */

/** Marks an error as a failed index commit (answered 503 unless its cause says the disk is full, then 507). */
export interface IndexCommitFailure extends Error {
  indexCommitFailed: true;
}

/**
 * Rethrows a failed LMDB transaction with its real cause attached. Waits at most `waitMs` for the cause: lmdb-js
 * does not promise to settle it in every order of events.
 */
export async function rethrowCommitFailure(error: unknown, waitMs = 1000): Promise<never> {
  const pending = (error as { commitError?: unknown } | undefined)?.commitError;
  if (!(pending instanceof Promise)) throw error;
  let timer: Timer | undefined;
  const cause = await Promise.race([
    pending.then(
      () => undefined,
      (e: unknown) => e,
    ),
    new Promise<undefined>((resolve) => (timer = setTimeout(resolve, waitMs))),
  ]);
  clearTimeout(timer);
  const reason = cause instanceof Error ? cause.message : 'cause unknown';
  const failure = new Error(`index commit failed: ${reason}`, { cause: cause ?? error }) as IndexCommitFailure;
  failure.indexCommitFailed = true;
  throw failure;
}

let quiet = false;

/**
 * Keeps lmdb-js quiet about a failed write, which the caller hears about anyway as a rejected transaction:
 * - drops the error lmdb-js prints itself (with its stack) from its write-thread callback through `console.error`;
 * - handles the copies of "Commit failed" it rejects on internal promises nobody can await, which would otherwise
 *   print a stack trace and, as an unhandled rejection, take the process down on a full disk.
 * Everything else is untouched: other `console.error` calls pass through, and any other unhandled rejection still
 * ends the process as by default (unless another listener handles it). Idempotent.
 */
export function quietLmdb(): void {
  if (quiet) return;
  quiet = true;
  const original = console.error.bind(console);
  console.error = (...args: unknown[]) => {
    if (fromLmdbWriter(args[0])) return;
    original(...args);
  };
  process.on('unhandledRejection', function lmdbCommitFailures(reason) {
    const pending = (reason as { commitError?: unknown } | undefined)?.commitError;
    if (reason instanceof Error && reason.message.startsWith('Commit failed') && pending instanceof Promise) {
      pending.catch(() => {});
      return;
    }
    if (process.listenerCount('unhandledRejection') > 1) return;
    throw reason;
  });
}

function fromLmdbWriter(value: unknown): boolean {
  return value instanceof Error && typeof value.stack === 'string' && /[\\/]lmdb[\\/]write\.js/.test(value.stack);
}
