/**
 * Tiny building blocks for hand-written, linear parsers of client input. Every parser of a header, path part or
 * query parameter caps its input's length first and then walks it once with these, so no input can make it
 * backtrack (a regex such as `\s*(\d*)\s*-\s*(\d*)\s*$` is quadratic on long runs of spaces).
 */

/** True for the optional whitespace of HTTP (RFC 9110 §5.6.3 OWS: space and tab). */
export function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** True for an ASCII decimal digit. */
export function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** True for a lower-case ASCII letter or a digit. */
export function isLowerAlnum(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || isDigit(code);
}

/** True for an ASCII letter or a digit. */
export function isAlnum(code: number): boolean {
  return isLowerAlnum(code) || (code >= 0x41 && code <= 0x5a);
}

/** The index of the first character at or after `i` that is not OWS. */
export function skipOws(s: string, i: number): number {
  while (i < s.length && isOws(s.charCodeAt(i))) i++;
  return i;
}

/** The index just past the run of digits starting at `i` (equal to `i` when there is none). */
export function skipDigits(s: string, i: number): number {
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  return i;
}

/** A run of decimal digits as a safe integer; undefined when empty, not all digits, or beyond 2^53 - 1. */
export function safeInteger(digits: string): number | undefined {
  if (digits.length === 0 || digits.length > 16 || skipDigits(digits, 0) !== digits.length) return undefined;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : undefined;
}
