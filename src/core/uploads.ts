/**
 * Blob uploads (distribution-spec "Pushing blobs"): monolithic POST, POST+PUT, chunked PATCH, streamed PATCH,
 * cross-repository mount, cancel. Sessions are owned by one repository and serialised per id.
 */
import { isRegistryError, RegistryError } from '../errors.ts';
import { digestAlgorithm, type Digest, type DigestAlgorithm } from '../oci/digest.ts';
import type { ByteRange } from '../oci/range.ts';
import type { BlobInfo, UploadSession } from '../storage/types.ts';
import { commitBlob } from './blob-lifecycle.ts';
import { linkStoredBlob } from './blobs.ts';
import { currentActor } from './actor.ts';
import { emit, type CoreContext } from './context.ts';
import { assertWritable } from './guards.ts';
import { assertUploadFits, capUploadBody, reserveSession } from './upload-limits.ts';

/** A request body: a stream (possibly chunked on the wire) or bytes already in memory. */
export type Body = ReadableStream<Uint8Array> | Uint8Array;

/** Parameters of an upload POST. */
export interface StartUploadInput {
  /** `?digest=`: a monolithic upload of `body`. */
  digest?: Digest;
  /** `?mount=`: the blob to mount from another repository. */
  mount?: Digest;
  /** `?from=`: where to mount from; absent means "any repository" (anonymous mount). */
  from?: string;
  /** `?digest-algorithm=`: the algorithm the final digest will use, so the right hash runs from the first byte. */
  algorithm?: DigestAlgorithm;
  body?: Body;
  /** Declared body length, when known. */
  length?: number;
  /** Lets the caller refuse a mount source the client may not read (auth). */
  canMountFrom?(repository: string): Promise<boolean>;
}

/** What an upload POST produced. */
export type StartUploadResult =
  | { kind: 'created'; blob: BlobInfo; mounted: boolean }
  | { kind: 'session'; id: string; size: number };

/** Where an upload stands. */
export interface UploadState {
  id: string;
  size: number;
}

/** Starts an upload, or finishes it at once (monolithic or mount). */
export async function startUpload(ctx: CoreContext, repository: string, input: StartUploadInput): Promise<StartUploadResult> {
  assertWritable(ctx);
  if (input.mount) {
    const mounted = await tryMount(ctx, repository, input.mount, input.from, input.canMountFrom);
    if (mounted) {
      emit(ctx, 'onPush', { kind: 'blob', repository, reference: mounted.digest, digest: mounted.digest, mediaType: 'application/octet-stream', size: mounted.size });
      return { kind: 'created', blob: mounted, mounted: true };
    }
  }
  const algorithms: DigestAlgorithm[] = [input.digest ? digestAlgorithm(input.digest) : input.algorithm ?? 'sha256'];
  if (input.body) assertUploadFits(ctx, 0, input.length);
  const actor = currentActor();
  // Anonymous clients are one crowd (every client of an open registry): only the registry and repository caps hold them.
  const owner = actor && actor.via !== 'anonymous' && actor.subject !== 'anonymous' ? actor.subject : undefined;
  const release = await reserveSession(ctx, repository, owner);
  let session: UploadSession;
  try {
    session = await ctx.blobs.startUpload({ algorithms });
    const now = Date.now();
    try {
      await ctx.ledger.add({ id: session.id, repository, startedAt: now, touchedAt: now, ...(owner === undefined ? {} : { owner }) });
    } catch (error) {
      // An unrecorded session could never be resumed or purged: drop its file now (a full disk fails here first).
      await session.cancel().catch(() => undefined);
      throw error;
    }
  } finally {
    release();
  }
  // Under the session's lock, like a PATCH, so the idle purge cannot cancel a slow body while it is still arriving.
  return ctx.locks.run(`upload:${session.id}`, async (): Promise<StartUploadResult> => {
    try {
      if (input.body) {
        await session.append(capUploadBody(ctx, input.body, 0, input.length), input.length);
        // A monolithic upload is committed (or discarded) next: no ledger write for a session about to go.
        if (!input.digest) await ctx.ledger.touch(session.id, Date.now());
      }
      if (input.digest) {
        const blob = await commitAndLink(ctx, repository, session, input.digest);
        return { kind: 'created', blob, mounted: false };
      }
    } catch (e) {
      await discard(ctx, session);
      throw e;
    }
    return { kind: 'session', id: session.id, size: session.size };
  });
}

/** The state of an open upload. @throws BLOB_UPLOAD_UNKNOWN */
export async function uploadStatus(ctx: CoreContext, repository: string, id: string): Promise<UploadState> {
  const session = await sessionOf(ctx, repository, id);
  return { id, size: session.size };
}

/**
 * Appends a chunk (PATCH). With `range`, it must start exactly at the current size (else 416 with the current
 * state) and the body must be exactly as long as the range says.
 */
export async function appendUpload(ctx: CoreContext, repository: string, id: string, body: Body, options: { range?: ByteRange; length?: number } = {}): Promise<UploadState> {
  assertWritable(ctx);
  return ctx.locks.run(`upload:${id}`, async (lease) => {
    const session = await sessionOf(ctx, repository, id);
    lease.check();
    await appendChecked(ctx, session, body, options);
    return { id, size: session.size };
  });
}

/** Finishes an upload (PUT ?digest=), with an optional last chunk in the body. */
export async function finishUpload(ctx: CoreContext, repository: string, id: string, digest: Digest, options: { body?: Body; range?: ByteRange; length?: number } = {}): Promise<BlobInfo> {
  assertWritable(ctx);
  const blob = await ctx.locks.run(`upload:${id}`, async (lease) => {
    const session = await sessionOf(ctx, repository, id);
    lease.check();
    // The session is removed from the ledger on commit: touched only if it outlives a failed one.
    if (options.body) await appendChecked(ctx, session, options.body, options, false);
    try {
      // A lease that ran out during a slow last chunk may have let another request in: do not publish then.
      lease.check();
      return await commitAndLink(ctx, repository, session, digest);
    } catch (error) {
      // A digest mismatch ends the upload, as in Distribution: a retried PUT must not append its chunk twice.
      if (isRegistryError(error) && error.code === 'DIGEST_INVALID') await discard(ctx, session);
      else if (options.body) touchQuietly(ctx, session.id);
      throw error;
    }
  });
  return blob;
}

/** Cancels an upload and frees its bytes. */
export async function cancelUpload(ctx: CoreContext, repository: string, id: string): Promise<void> {
  assertWritable(ctx);
  await ctx.locks.run(`upload:${id}`, async () => {
    const session = await sessionOf(ctx, repository, id);
    await discard(ctx, session);
  });
}

/** Removes uploads untouched for `maxIdleMs`; returns how many went. */
export async function purgeIdleUploads(ctx: CoreContext, maxIdleMs: number): Promise<number> {
  let purged = 0;
  const cutoff = Date.now() - maxIdleMs;
  for (const entry of await ctx.ledger.idleSince(cutoff)) {
    // A session whose lock is taken has a request in flight (a slow PATCH, a long commit): it is not idle, and
    // waiting for that lock would hold every later purge behind one slow client. Skip it; the next run looks again.
    await ctx.locks.tryRun(`upload:${entry.id}`, async () => {
      // Look again under the lock: a request that just released it may have touched (or finished) the session.
      const current = await ctx.ledger.get(entry.id);
      if (!current || current.touchedAt >= cutoff) return;
      const session = await ctx.blobs.resumeUpload(entry.id);
      if (session) await session.cancel();
      await ctx.ledger.remove(entry.id);
      purged++;
    });
  }
  // Files no session owns: left by a crash between creating a file and recording it, or by interrupted fills.
  // The sessions open now: one started later has a fresh file, which the sweep leaves alone anyway.
  if (ctx.blobs.sweep) {
    const open = new Set((await ctx.ledger.idleSince(Number.MAX_SAFE_INTEGER)).map((e) => e.id));
    purged += await ctx.blobs.sweep(maxIdleMs, (id) => open.has(id));
  }
  return purged;
}

/** The 416 a client gets for a chunk that does not continue the upload; it carries the state to resume from. */
export function rangeError(size: number, message: string): RegistryError {
  return new RegistryError('BLOB_UPLOAD_INVALID', message, {
    status: 416,
    detail: { size },
    headers: { Range: `0-${Math.max(size - 1, 0)}` },
  });
}

async function appendChecked(ctx: CoreContext, session: UploadSession, body: Body, options: { range?: ByteRange; length?: number }, touch = true): Promise<void> {
  let expected = options.length;
  if (options.range) {
    if (options.range.start !== session.size) {
      throw rangeError(session.size, `chunk starts at ${options.range.start}, but the upload holds ${session.size} bytes`);
    }
    const rangeLength = options.range.end - options.range.start + 1;
    if (expected !== undefined && expected !== rangeLength) {
      throw new RegistryError('SIZE_INVALID', `Content-Length ${expected} does not match Content-Range length ${rangeLength}`);
    }
    expected = rangeLength;
  }
  assertUploadFits(ctx, session.size, expected);
  await session.append(capUploadBody(ctx, body, session.size, expected), expected);
  if (touch) await ctx.ledger.touch(session.id, Date.now());
}

async function commitAndLink(ctx: CoreContext, repository: string, session: UploadSession, digest: Digest): Promise<BlobInfo> {
  // Held against deletion from before the file is published until it is linked (in any process: GC, prune).
  const blob = await commitBlob(ctx, repository, digest, () => session.commit(digest));
  await ctx.ledger.remove(session.id);
  emit(ctx, 'onPush', { kind: 'blob', repository, reference: digest, digest, mediaType: 'application/octet-stream', size: blob.size });
  return blob;
}

async function tryMount(ctx: CoreContext, repository: string, digest: Digest, from: string | undefined, canMountFrom?: (r: string) => Promise<boolean>): Promise<BlobInfo | undefined> {
  // Linked already: re-linking refreshes the link, which the client is about to reference in a manifest.
  if (await ctx.index.hasBlob(repository, digest)) return linkStoredBlob(ctx, repository, digest);
  const source = from ?? (ctx.settings.anonymousMount ? await ctx.index.findBlobRepository(digest, repository) : undefined);
  if (!source || !(await ctx.index.hasBlob(source, digest))) return undefined;
  if (canMountFrom && !(await canMountFrom(source))) return undefined;
  return linkStoredBlob(ctx, repository, digest);
}

async function sessionOf(ctx: CoreContext, repository: string, id: string): Promise<UploadSession> {
  const entry = await ctx.ledger.get(id);
  const session = entry?.repository === repository ? await ctx.blobs.resumeUpload(id) : undefined;
  if (!session) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { detail: { id } });
  return session;
}

/** Touches a session on a failure path, where the failure itself is what the client must see. */
function touchQuietly(ctx: CoreContext, id: string): void {
  // A ledger may answer later (a promise) or throw at once: neither may hide the failure being answered.
  void Promise.resolve()
    .then(() => ctx.ledger.touch(id, Date.now()))
    .catch(() => undefined);
}

async function discard(ctx: CoreContext, session: UploadSession): Promise<void> {
  await session.cancel();
  await ctx.ledger.remove(session.id);
}
