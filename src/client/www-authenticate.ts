/**
 * Parsing of `WWW-Authenticate` challenges (RFC 9110 §11.6.1) as registries send them. The header comes from an
 * upstream that may be hostile, so it is length-capped and read by one forward scan (no backtracking regex).
 */

/** One challenge: its scheme and parameters (names lower-cased). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Longest header value read; a longer one yields no challenges (the 401 then stands). */
export const MAX_WWW_AUTHENTICATE_LENGTH = 16 * 1024;

/** Most parameters kept per challenge; real ones carry three (realm, service, scope). */
const MAX_PARAMS = 32;

/** Parses a header value that may hold several challenges (`Bearer realm="…",service="…", Basic realm="…"`). */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  if (header.length > MAX_WWW_AUTHENTICATE_LENGTH) return out;
  let i = 0;
  while (i < header.length) {
    i = skip(header, i, true);
    const schemeEnd = tokenEnd(header, i);
    if (schemeEnd === i || !isLetter(header.charCodeAt(i))) break;
    const challenge: Challenge = { scheme: header.slice(i, schemeEnd).toLowerCase(), params: Object.create(null) };
    i = schemeEnd;
    for (;;) {
      const nameStart = skip(header, i, false);
      const nameEnd = tokenEnd(header, nameStart);
      // A token not followed by "=" starts the next challenge, not a parameter.
      if (nameEnd === nameStart) break;
      let at = skip(header, nameEnd, false);
      if (header.charCodeAt(at) !== 0x3d /* = */) break;
      at = skip(header, at + 1, false);
      const value = header.charCodeAt(at) === 0x22 /* " */ ? quoted(header, at) : bare(header, at);
      if (!value) return out; // an unterminated quoted string: nothing after it can be trusted
      if (Object.keys(challenge.params).length < MAX_PARAMS) challenge.params[header.slice(nameStart, nameEnd).toLowerCase()] = value.text;
      i = skip(header, value.end, false);
      if (header.charCodeAt(i) === 0x2c /* , */) i++;
    }
    out.push({ scheme: challenge.scheme, params: { ...challenge.params } });
  }
  return out;
}

function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isTokenChar(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
}

function tokenEnd(s: string, i: number): number {
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  return i;
}

/** Skips whitespace, and commas too when `commas`. */
function skip(s: string, i: number, commas: boolean): number {
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && !(commas && c === 0x2c)) break;
  }
  return i;
}

/** A quoted-string starting at the quote at `i`, unescaped; undefined when it never ends. */
function quoted(s: string, i: number): { text: string; end: number } | undefined {
  let text = '';
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x22) return { text, end: j + 1 };
    if (c === 0x5c /* \ */ && j + 1 < s.length) j++;
    text += s[j];
  }
  return undefined;
}

/** A bare value: everything up to whitespace or a comma. */
function bare(s: string, i: number): { text: string; end: number } {
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 0x20 || c === 0x09 || c === 0x2c) break;
    j++;
  }
  return { text: s.slice(i, j), end: j };
}
