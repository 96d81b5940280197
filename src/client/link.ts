/**
 * The `Link: <url>; rel="next"` header of paginated listings (RFC 8288), resolved against the request URL. The
 * header comes from a possibly hostile upstream, so it is length-capped and read by one forward scan.
 */

/** Longest Link header read; a longer one is treated as having no next page. */
export const MAX_LINK_HEADER_LENGTH = 16 * 1024;

/** The absolute URL of the `rel="next"` link, or undefined when there is none (or it is no valid URL). */
export function nextLink(header: string | null, base: string): string | undefined {
  if (!header || header.length > MAX_LINK_HEADER_LENGTH) return undefined;
  let i = 0;
  while (i < header.length) {
    i = skipSpace(header, i);
    if (header.charCodeAt(i) === 0x2c /* , */) {
      i++;
      continue;
    }
    if (header.charCodeAt(i) !== 0x3c /* < */) return undefined;
    const close = header.indexOf('>', i + 1);
    if (close < 0) return undefined;
    const target = header.slice(i + 1, close);
    // Parameters run to the next comma outside a quoted string.
    let next = false;
    let j = close + 1;
    while (j < header.length && header.charCodeAt(j) !== 0x2c) {
      j = skipSpace(header, j);
      if (header.charCodeAt(j) !== 0x3b /* ; */) {
        if (j < header.length && header.charCodeAt(j) !== 0x2c) return undefined;
        break;
      }
      const param = readParam(header, j + 1);
      if (!param) return undefined;
      if (param.name === 'rel' && param.value.toLowerCase().split(' ').includes('next')) next = true;
      j = param.end;
    }
    if (next) {
      try {
        return new URL(target, base).toString();
      } catch {
        return undefined;
      }
    }
    i = j;
  }
  return undefined;
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
  return i;
}

/** `name [= value]` after a ";", the value a token or a quoted string. */
function readParam(s: string, from: number): { name: string; value: string; end: number } | undefined {
  let i = skipSpace(s, from);
  const nameStart = i;
  while (i < s.length && !' \t=;,'.includes(s[i]!)) i++;
  const name = s.slice(nameStart, i).toLowerCase();
  i = skipSpace(s, i);
  if (s.charCodeAt(i) !== 0x3d /* = */) return { name, value: '', end: i };
  i = skipSpace(s, i + 1);
  if (s.charCodeAt(i) === 0x22 /* " */) {
    let value = '';
    for (let j = i + 1; j < s.length; j++) {
      if (s.charCodeAt(j) === 0x22) return { name, value, end: j + 1 };
      if (s.charCodeAt(j) === 0x5c && j + 1 < s.length) j++;
      value += s[j];
    }
    return undefined;
  }
  const valueStart = i;
  while (i < s.length && !' \t;,'.includes(s[i]!)) i++;
  return { name, value: s.slice(valueStart, i), end: i };
}
