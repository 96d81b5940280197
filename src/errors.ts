/**
 * Typed registry errors and the ONE table that maps OCI error codes to HTTP statuses.
 * The core throws these; only the HTTP layer turns them into responses.
 */

/** The error codes of the OCI Distribution Specification (plus UNKNOWN for unexpected failures). */
export type ErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'UNKNOWN';

/** Default HTTP status and message of each code. */
export const ERROR_TABLE: Readonly<Record<ErrorCode, readonly [status: number, message: string]>> = {
  BLOB_UNKNOWN: [404, 'blob unknown to registry'],
  BLOB_UPLOAD_INVALID: [400, 'blob upload invalid'],
  BLOB_UPLOAD_UNKNOWN: [404, 'blob upload unknown to registry'],
  DIGEST_INVALID: [400, 'provided digest did not match uploaded content'],
  MANIFEST_BLOB_UNKNOWN: [400, 'manifest references a manifest or blob unknown to registry'],
  MANIFEST_INVALID: [400, 'manifest invalid'],
  MANIFEST_UNKNOWN: [404, 'manifest unknown to registry'],
  NAME_INVALID: [400, 'invalid repository name'],
  NAME_UNKNOWN: [404, 'repository name not known to registry'],
  SIZE_INVALID: [400, 'provided length did not match content length'],
  UNAUTHORIZED: [401, 'authentication required'],
  DENIED: [403, 'requested access to the resource is denied'],
  UNSUPPORTED: [405, 'the operation is unsupported'],
  TOOMANYREQUESTS: [429, 'too many requests'],
  UNKNOWN: [500, 'unknown error'],
};

/** Options of a RegistryError beyond its code. */
export interface RegistryErrorOptions {
  /** Overrides the table's HTTP status (e.g. 413 for an oversized manifest, still MANIFEST_INVALID). */
  status?: number;
  /** Extra, machine-readable detail placed in the error body. */
  detail?: unknown;
  /** Response headers to send with the error (e.g. Range on a 416, WWW-Authenticate on a 401). */
  headers?: Record<string, string>;
  /** The underlying failure, kept for logs. */
  cause?: unknown;
}

/** An error the registry reports to clients in the spec's JSON error format. */
export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message?: string, options: RegistryErrorOptions = {}) {
    const [status, defaultMessage] = ERROR_TABLE[code];
    super(message ?? defaultMessage, { cause: options.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.status = options.status ?? status;
    this.detail = options.detail;
    this.headers = options.headers;
  }

  /** The spec's error body: `{"errors":[{"code","message","detail"}]}`. */
  toBody(): { errors: { code: string; message: string; detail?: unknown }[] } {
    const entry: { code: string; message: string; detail?: unknown } = { code: this.code, message: this.message };
    if (this.detail !== undefined) entry.detail = this.detail;
    return { errors: [entry] };
  }
}

/** True when `e` is a RegistryError (also across module copies). */
export function isRegistryError(e: unknown): e is RegistryError {
  return e instanceof RegistryError || (e instanceof Error && e.name === 'RegistryError' && 'code' in e);
}

/** errno names and numbers (Linux) that mean "no space left": the disk is full or a quota is exhausted. */
const STORAGE_FULL_CODES: ReadonlySet<string | number> = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', 28, 122]);
/** LMDB's MDB_MAP_FULL: the index reached its configured map size. */
const LMDB_MAP_FULL = -30792;

/**
 * The ONE mapping from failures of the storage underneath (file system, LMDB, SQLite, S3) to client-facing errors:
 * a full disk, an exhausted quota, a full LMDB map or a full object store answer 507 Insufficient Storage, a failed
 * index commit or an object store that fails or refuses 503,
 * each with the spec's JSON body (code UNKNOWN: the spec has no code for these) and a message that says what
 * happened, never a stack trace. Anything else is undefined: an unexpected failure, a 500.
 */
export function storageFailure(error: unknown): RegistryError | undefined {
  const chain: Error[] = [];
  for (let e = error; e instanceof Error && chain.length < 4; e = e.cause) chain.push(e);
  for (const e of chain) {
    const code = (e as { code?: unknown }).code;
    if (STORAGE_FULL_CODES.has(code as string) || /^(ENOSPC|EDQUOT)\b|database or disk is full/.test(e.message.slice(0, 200))) {
      return new RegistryError('UNKNOWN', 'insufficient storage: the registry is out of disk space; nothing was stored, retry later', {
        status: 507,
        detail: { reason: 'storage full' },
        cause: error,
      });
    }
    if (code === LMDB_MAP_FULL || e.message.startsWith('MDB_MAP_FULL')) {
      return new RegistryError('UNKNOWN', 'insufficient storage: the metadata index is full; nothing was stored', {
        status: 507,
        detail: { reason: 'index full' },
        cause: error,
      });
    }
  }
  const s3 = chain.map(objectStorageFailure).find((r) => r !== undefined);
  if (s3) return s3;
  if (chain.some((e) => (e as { indexCommitFailed?: unknown }).indexCommitFailed === true)) {
    return new RegistryError('UNKNOWN', 'the metadata index could not commit the write (storage error); nothing was stored, retry later', {
      status: 503,
      detail: { reason: 'index commit failed' },
      headers: { 'Retry-After': '10' },
      cause: error,
    });
  }
  return undefined;
}

/** S3 error codes that mean the object store is out of space (MinIO and others; AWS never says so). */
const S3_FULL_CODES: ReadonlySet<string> = new Set(['XMinioStorageFull', 'StorageFull', 'InsufficientStorage']);
/** S3 error codes (and Bun.S3Client transport failures) that mean the object store failed, not the request. */
const S3_UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  'InternalError', 'ServiceUnavailable', 'SlowDown', 'RequestTimeout', 'RequestTimeTooSkewed', 'XMinioServerNotInitialized',
  'ConnectionRefused', 'ConnectionClosed', 'ConnectionReset', 'Timeout', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT',
]);

/**
 * A failure of the S3 object store under the blob store (Bun.S3Client's `S3Error` with S3's code, or the store's
 * own `S3RequestError` with the HTTP status): full answers 507, refusing or unreachable 503 with Retry-After. Both
 * say nothing was stored; S3's own message (which may name keys and buckets) goes to the log only. Errors that
 * mean Marina asked wrongly (AccessDenied, InvalidPart…) stay unexpected 500s.
 */
function objectStorageFailure(e: Error): RegistryError | undefined {
  if (e.name !== 'S3Error' && e.name !== 'S3RequestError') return undefined;
  const raw = (e as { code?: unknown }).code;
  const code = typeof raw === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(raw) ? raw : undefined;
  const status = (e as { status?: unknown }).status;
  const httpStatus = typeof status === 'number' ? status : undefined;
  const detail = code ? { s3Code: code } : {};
  if ((code && S3_FULL_CODES.has(code)) || httpStatus === 507) {
    return new RegistryError('UNKNOWN', 'insufficient storage: the object storage (S3) is full; nothing was stored, retry later', {
      status: 507,
      detail: { reason: 'object storage full', ...detail },
      cause: e,
    });
  }
  if ((code && S3_UNAVAILABLE_CODES.has(code)) || (httpStatus !== undefined && httpStatus >= 500)) {
    return new RegistryError('UNKNOWN', 'the object storage (S3) failed or refused the request; nothing was stored, retry later', {
      status: 503,
      detail: { reason: 'object storage unavailable', ...detail },
      headers: { 'Retry-After': '10' },
      cause: e,
    });
  }
  return undefined;
}

/** The error a client is answered with: a RegistryError as is, a storage failure mapped, anything else undefined. */
export function knownError(error: unknown): RegistryError | undefined {
  return isRegistryError(error) ? error : storageFailure(error);
}
