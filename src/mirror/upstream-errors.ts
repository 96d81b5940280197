/**
 * What an upstream failure means for the mirror (stale content may be served) and what the client sees of it: the
 * mirror's own words, never the upstream's.
 */
import { isRegistryError, RegistryError, storageFailure } from '../errors.ts';
import { UpstreamRefusal } from './bounded-body.ts';

/** A request not sent because the upstream's circuit is open. */
export class CircuitOpen extends RegistryError {
  constructor(upstream: string, readonly retryInMs: number) {
    super('UNKNOWN', `upstream ${upstream}: circuit open`, { status: 503 });
  }
}

/** True for failures that say nothing about the content: the upstream is down, slow, throttling or broken. */
export function isUpstreamFailure(error: unknown): boolean {
  return !isRegistryError(error) || error.status >= 500 || error.status === 429;
}

/** Answers the client may see for definitive upstream answers: the code and the table's message, nothing more. */
const PASSED_ON = new Set(['BLOB_UNKNOWN', 'MANIFEST_UNKNOWN', 'NAME_UNKNOWN', 'DENIED', 'UNSUPPORTED', 'MANIFEST_INVALID', 'NAME_INVALID']);

/**
 * Maps an upstream failure to what the client sees, in the mirror's own words: the upstream's text may be anything
 * (a file it tricked us into reading, a message aimed at the client), so it goes to the log only. Definitive
 * answers keep their code; an upstream 401 (the mirror's own credentials failing) becomes DENIED, since a 401
 * without a challenge the client could answer is useless to it; refused answers are 502, outages 503.
 */
export function clientFacingError(upstream: string, error: unknown): RegistryError {
  // The mirror's own disk failing (full spool, full index) is no upstream's fault: 507/503 as for a push.
  const storage = isRegistryError(error) ? undefined : storageFailure(error);
  if (storage) return storage;
  if (error instanceof CircuitOpen) {
    const seconds = Math.max(1, Math.ceil(error.retryInMs / 1000));
    return new RegistryError('UNKNOWN', `the upstream ${upstream} is failing; the mirror is not asking it for ${seconds} s`, { status: 503, headers: { 'Retry-After': String(seconds) } });
  }
  if (isRegistryError(error) && error.status === 401) return new RegistryError('DENIED', `the upstream ${upstream} refused the mirror's request`);
  if (isRegistryError(error) && error.code === 'TOOMANYREQUESTS') {
    return new RegistryError('TOOMANYREQUESTS', `the upstream ${upstream} asked the mirror to slow down`, { headers: error.headers });
  }
  // Refused answers (and bad ones the upstream reported as 502) are a bad gateway; everything else an outage.
  if (error instanceof UpstreamRefusal || (isRegistryError(error) && error.status === 502 && error.code === 'UNKNOWN')) {
    return new RegistryError('UNKNOWN', `the upstream ${upstream} sent an answer the mirror refuses`, { status: 502 });
  }
  if (isRegistryError(error) && error.code === 'DIGEST_INVALID' && error.status === 502) {
    return new RegistryError('UNKNOWN', `the upstream ${upstream} sent content that does not match its digest`, { status: 502 });
  }
  if (isRegistryError(error) && !isUpstreamFailure(error)) {
    if (PASSED_ON.has(error.code)) return new RegistryError(error.code, undefined, { status: error.status, detail: error.detail });
    return new RegistryError('UNKNOWN', `the upstream ${upstream} refused the request`, { status: 502 });
  }
  return new RegistryError('UNKNOWN', `the upstream ${upstream} is unavailable`, { status: 503 });
}
