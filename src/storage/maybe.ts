/**
 * The one rule for storage answers that may be promises ({@link MaybePromise}) on hot paths: continue at once when
 * the store answered synchronously (LMDB, SQLite: no promise, no extra tick), after it settles otherwise (a network
 * store). Everywhere else, callers simply `await` the answer.
 */
import type { MaybePromise } from './types.ts';

/** `next(value)` now when `value` is already there, else once it resolves. A throw in `next` is thrown as is when synchronous. */
export function andThen<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}
