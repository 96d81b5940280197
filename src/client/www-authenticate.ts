/** Parsing of `WWW-Authenticate` challenges (RFC 9110 §11.6.1) as registries send them. */

/** One challenge: its scheme and parameters (names lower-cased). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const PARAM = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/y;

/** Parses a header value that may hold several challenges (`Bearer realm="…",service="…", Basic realm="…"`). */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  while (i < header.length) {
    const scheme = /\s*,?\s*([A-Za-z][A-Za-z0-9_-]*)/y;
    scheme.lastIndex = i;
    const m = scheme.exec(header);
    if (!m) break;
    i = scheme.lastIndex;
    const params: Record<string, string> = {};
    for (;;) {
      PARAM.lastIndex = i;
      const p = PARAM.exec(header);
      // A token followed by a space and another token starts the next challenge, not a parameter.
      if (!p) break;
      params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
      i = PARAM.lastIndex;
    }
    out.push({ scheme: m[1]!.toLowerCase(), params });
  }
  return out;
}
