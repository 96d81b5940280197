/**
 * Upload limits, one rule each: how many sessions may be open (globally, per repository and per authenticated
 * user) and how large one
 * upload may grow. Checked before any body byte is read where the client declared a length, and while streaming
 * where it did not.
 */
import { RegistryError } from '../errors.ts';
import { releasesChunks, releasingChunks } from '../storage/stream-writer.ts';
import type { CoreContext } from './context.ts';

/** A body as core operations take it. */
type Body = ReadableStream<Uint8Array> | Uint8Array;

/** Seconds a client is told to wait after hitting a session cap: long enough for typical pushes to finish. */
export const SESSION_RETRY_AFTER_SECONDS = 10;

// Sessions being created (between the cap check and their ledger entry), per context: '' counts all repositories,
// '\0' + subject those of one user (no repository name starts with a NUL).
const starting = new WeakMap<CoreContext, Map<string, number>>();
// Reservations of one context, one after another: a check reads the ledger (perhaps over the network) and counts
// the sessions reserved before it, so two must not both pass on the same last free place.
const queues = new WeakMap<CoreContext, Promise<unknown>>();

/**
 * Reserves room for one new upload session in `repository`, opened by `owner` (an authenticated user; undefined
 * for anonymous clients), or throws TOOMANYREQUESTS (429 + Retry-After).
 * Call the returned function once the session is in the ledger (or failed to start).
 */
export function reserveSession(ctx: CoreContext, repository: string, owner?: string): Promise<() => void> {
  const reserved = (queues.get(ctx) ?? Promise.resolve()).then(() => reserve(ctx, repository, owner));
  queues.set(ctx, reserved.catch(() => undefined));
  return reserved;
}

async function reserve(ctx: CoreContext, repository: string, owner: string | undefined): Promise<() => void> {
  const { maxUploadSessions, maxUploadSessionsPerRepository, maxUploadSessionsPerUser } = ctx.settings;
  let pending = starting.get(ctx);
  if (!pending) starting.set(ctx, (pending = new Map()));
  const total = (await ctx.ledger.count()) + (pending.get('') ?? 0);
  const inRepository = (await ctx.ledger.count(repository)) + (pending.get(repository) ?? 0);
  if (total >= maxUploadSessions) throw tooMany(`the registry has ${maxUploadSessions} open uploads, its limit`, maxUploadSessions);
  if (inRepository >= maxUploadSessionsPerRepository) {
    throw tooMany(`repository has ${maxUploadSessionsPerRepository} open uploads, its limit`, maxUploadSessionsPerRepository);
  }
  const ownerKey = owner === undefined ? undefined : `\0${owner}`;
  if (owner !== undefined && (await ctx.ledger.countOwnedBy(owner)) + (pending.get(ownerKey!) ?? 0) >= maxUploadSessionsPerUser) {
    throw tooMany(`you have ${maxUploadSessionsPerUser} open uploads, the limit per user`, maxUploadSessionsPerUser);
  }
  const bump = (key: string, by: number) => {
    const n = (pending.get(key) ?? 0) + by;
    if (n) pending.set(key, n);
    else pending.delete(key);
  };
  const keys = ownerKey === undefined ? ['', repository] : ['', repository, ownerKey];
  for (const key of keys) bump(key, 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (const key of keys) bump(key, -1);
  };
}

/**
 * Refuses, before reading it, a chunk that would take an upload holding `current` bytes past `maxUploadSize`.
 * @throws BLOB_UPLOAD_INVALID with status 413
 */
export function assertUploadFits(ctx: CoreContext, current: number, declared: number | undefined): void {
  if (declared !== undefined && current + declared > ctx.settings.maxUploadSize) throw tooLarge(ctx.settings.maxUploadSize);
}

/**
 * The body, cut off with BLOB_UPLOAD_INVALID (413) as soon as it would take the upload past `maxUploadSize`.
 * A body of declared length was already checked by {@link assertUploadFits} and passes through unchanged.
 */
export function capUploadBody(ctx: CoreContext, body: Body, current: number, declared: number | undefined): Body {
  const limit = ctx.settings.maxUploadSize;
  if (body instanceof Uint8Array) {
    if (current + body.byteLength > limit) throw tooLarge(limit);
    return body;
  }
  if (declared !== undefined) return body;
  let total = current;
  const capped = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        total += chunk.byteLength;
        if (total > limit) throw tooLarge(limit);
        controller.enqueue(chunk);
      },
    }),
  );
  // The same chunks pass through: whether the sink may free them is unchanged.
  return releasesChunks(body) ? releasingChunks(capped) : capped;
}

function tooLarge(limit: number): RegistryError {
  // Not SIZE_INVALID: that code means "length does not match content"; here the content itself is refused.
  return new RegistryError('BLOB_UPLOAD_INVALID', `upload would exceed the limit of ${limit} bytes`, { status: 413, detail: { limit } });
}

function tooMany(message: string, limit: number): RegistryError {
  return new RegistryError('TOOMANYREQUESTS', message, { detail: { limit }, headers: { 'Retry-After': String(SESSION_RETRY_AFTER_SECONDS) } });
}
