/**
 * Repository globs (access rules, retention and quota rules, notification filters, mirror freshness): `*` matches
 * within one path segment, `**` matches across segments, every other character is literal. Matched by simulating all pattern positions at once (no backtracking, no regex),
 * so the cost is bounded by pattern length × name length.
 */

/** Longest glob accepted in a rules file. */
export const MAX_GLOB_LENGTH = 512;

type Token = { kind: 'char'; char: string } | { kind: 'star' } | { kind: 'globstar' };

/** A compiled glob. */
export interface Glob {
  readonly source: string;
  matches(name: string): boolean;
}

/** Compiles a glob. @throws when it is empty or too long */
export function compileGlob(source: string): Glob {
  if (source.length === 0 || source.length > MAX_GLOB_LENGTH) throw new Error(`glob must be 1..${MAX_GLOB_LENGTH} characters: "${source.slice(0, 60)}"`);
  const tokens: Token[] = [];
  for (let i = 0; i < source.length; i++) {
    if (source[i] === '*') {
      if (source[i + 1] === '*') {
        tokens.push({ kind: 'globstar' });
        while (source[i + 1] === '*') i++;
      } else tokens.push({ kind: 'star' });
    } else tokens.push({ kind: 'char', char: source[i]! });
  }
  return { source, matches: (name) => matchTokens(tokens, name) };
}

function matchTokens(tokens: Token[], name: string): boolean {
  // states[i] = the pattern is consumed up to token i after the characters read so far.
  let states = closure(tokens, new Uint8Array(tokens.length + 1).fill(0).map((_, i) => (i === 0 ? 1 : 0)));
  for (const ch of name) {
    const next = new Uint8Array(tokens.length + 1);
    let any = false;
    for (let i = 0; i < tokens.length; i++) {
      if (!states[i]) continue;
      const t = tokens[i]!;
      if (t.kind === 'char') {
        if (t.char === ch) (next[i + 1] = 1), (any = true);
      } else if (t.kind === 'globstar' || ch !== '/') {
        next[i] = 1; // a star absorbs the character and stays
        any = true;
      }
    }
    if (!any) return false;
    states = closure(tokens, next);
  }
  return states[tokens.length] === 1;
}

/** A star may also match nothing: from a star's position the next position is reachable too. */
function closure(tokens: Token[], states: Uint8Array): Uint8Array {
  for (let i = 0; i < tokens.length; i++) if (states[i] && tokens[i]!.kind !== 'char') states[i + 1] = 1;
  return states;
}

/**
 * Compiles a glob in which every `*` matches any run of characters, slashes included (notification filters and
 * mirror freshness patterns are written that way): each run of stars means `**`.
 */
export function compileLooseGlob(source: string): Glob {
  const glob = compileGlob(source.replace(/\*+/g, '**'));
  return { source, matches: glob.matches };
}
