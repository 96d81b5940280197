/**
 * Byte ranges: the `Range` header of blob reads (RFC 9110 §14) and the `Content-Range` of chunked uploads.
 * Pure parsing; callers decide what to do with the result.
 */

/** An inclusive byte range within a blob. */
export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/** Outcome of reading a Range header against a blob of known size. */
export type RangeRequest =
  | { kind: 'full' }
  | { kind: 'partial'; range: ByteRange }
  | { kind: 'unsatisfiable' };

const SINGLE = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i;

/**
 * Resolves a `Range` header against a blob size.
 * - no header, another unit, or several ranges → full (RFC 9110 lets a server ignore Range; one body is simpler for clients)
 * - `a-b` with b past the end is clamped; `-n` is the last n bytes
 * - an inverted range, a start at or past the end, a zero suffix or malformed numbers → unsatisfiable (416)
 */
export function parseRangeHeader(header: string | null | undefined, size: number): RangeRequest {
  if (!header) return { kind: 'full' };
  const value = header.trim();
  if (!/^bytes=/i.test(value)) return { kind: 'full' };
  if (value.includes(',')) return { kind: 'full' };
  const m = SINGLE.exec(value);
  if (!m) return { kind: 'unsatisfiable' };
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return { kind: 'unsatisfiable' };
  if (first === '') {
    const suffix = safeInt(last);
    if (suffix === undefined || suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = safeInt(first);
  // An end past any safe integer is still "to the end": clamp rather than refuse.
  const end = last === '' ? size - 1 : safeInt(last) ?? Number.MAX_SAFE_INTEGER;
  if (start === undefined || end === undefined) return { kind: 'unsatisfiable' };
  if (end < start || start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', range: { start, end: Math.min(end, size - 1) } };
}

/**
 * Reads an upload chunk's `Content-Range: <start>-<end>` (inclusive, as distribution-spec writes it without a unit;
 * a leading `bytes ` or `bytes=` is tolerated). Returns undefined when malformed.
 */
export function parseContentRange(header: string): ByteRange | undefined {
  const m = /^(?:bytes[ =])?\s*(\d+)\s*-\s*(\d+)\s*(?:\/\s*(?:\d+|\*))?$/i.exec(header.trim());
  if (!m) return undefined;
  const start = safeInt(m[1]!);
  const end = safeInt(m[2]!);
  if (start === undefined || end === undefined || end < start) return undefined;
  return { start, end };
}

function safeInt(digits: string): number | undefined {
  if (digits.length > 15) return undefined;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : undefined;
}
