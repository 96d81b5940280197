/**
 * Byte ranges: the `Range` header of blob reads (RFC 9110 §14) and the `Content-Range` of chunked uploads.
 * Pure parsing; callers decide what to do with the result. Both parsers cap the header's length and scan it once:
 * they run on every ranged read and every chunk, on bytes any client chooses.
 */
import { isDigit, safeInteger, skipDigits, skipOws } from './scan.ts';

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

/** Longest Range or Content-Range value read; a single range of two 20-digit numbers fits many times over. */
export const MAX_RANGE_HEADER_LENGTH = 256;

/**
 * Resolves a `Range` header against a blob size.
 * - no header, another unit, or several ranges → full (RFC 9110 lets a server ignore Range; one body is simpler for clients)
 * - `a-b` with b past the end is clamped; `-n` is the last n bytes
 * - an inverted range, a start at or past the end, a zero suffix, malformed numbers or a value longer than
 *   {@link MAX_RANGE_HEADER_LENGTH} → unsatisfiable (416)
 */
export function parseRangeHeader(header: string | null | undefined, size: number): RangeRequest {
  if (!header) return { kind: 'full' };
  let i = skipOws(header, 0);
  if (header.slice(i, i + 6).toLowerCase() !== 'bytes=') return { kind: 'full' };
  if (header.length > MAX_RANGE_HEADER_LENGTH) return { kind: 'unsatisfiable' };
  if (header.includes(',')) return { kind: 'full' };
  const spec = scanSpan(header, i + 6);
  if (!spec) return { kind: 'unsatisfiable' };
  const { first, last } = spec;
  if (first === '' && last === '') return { kind: 'unsatisfiable' };
  if (first === '') {
    const suffix = safeInteger(last);
    if (suffix === undefined || suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = safeInteger(first);
  // An end past any safe integer is still "to the end": clamp rather than refuse.
  const end = last === '' ? size - 1 : safeInteger(last) ?? Number.MAX_SAFE_INTEGER;
  if (start === undefined) return { kind: 'unsatisfiable' };
  if (end < start || start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', range: { start, end: Math.min(end, size - 1) } };
}

/**
 * Reads an upload chunk's `Content-Range: <start>-<end>` (inclusive, as distribution-spec writes it without a unit;
 * a leading `bytes ` or `bytes=` and a trailing `/<length>` or `/*` are tolerated). Returns undefined when malformed
 * or longer than {@link MAX_RANGE_HEADER_LENGTH}.
 */
export function parseContentRange(header: string): ByteRange | undefined {
  if (header.length > MAX_RANGE_HEADER_LENGTH) return undefined;
  let i = skipOws(header, 0);
  const unit = header.slice(i, i + 6).toLowerCase();
  if (unit === 'bytes ' || unit === 'bytes=') i += 6;
  const spec = scanSpan(header, i, true);
  if (!spec || spec.first === '' || spec.last === '') return undefined;
  const start = safeInteger(spec.first);
  const end = safeInteger(spec.last);
  if (start === undefined || end === undefined || end < start) return undefined;
  return { start, end };
}

/**
 * Scans `OWS digits* OWS "-" OWS digits* OWS` to the end of `s` (with `completeLength`, also an optional
 * `"/" OWS (digits | "*")` before the end). One pass, no backtracking.
 */
function scanSpan(s: string, from: number, completeLength = false): { first: string; last: string } | undefined {
  let i = skipOws(s, from);
  const firstStart = i;
  i = skipDigits(s, i);
  const first = s.slice(firstStart, i);
  i = skipOws(s, i);
  if (s.charCodeAt(i) !== 0x2d /* - */) return undefined;
  i = skipOws(s, i + 1);
  const lastStart = i;
  i = skipDigits(s, i);
  const last = s.slice(lastStart, i);
  i = skipOws(s, i);
  if (completeLength && s.charCodeAt(i) === 0x2f /* / */) {
    i = skipOws(s, i + 1);
    if (s.charCodeAt(i) === 0x2a /* * */) i++;
    else if (isDigit(s.charCodeAt(i))) i = skipDigits(s, i);
    else return undefined;
    i = skipOws(s, i);
  }
  return i === s.length ? { first, last } : undefined;
}
