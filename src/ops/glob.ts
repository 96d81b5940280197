/** Repository globs for notification filters: `*` matches any run of characters (slashes included). */

/**
 * True when `text` matches `pattern`. Iterative with one backtrack point, so the work is bounded by
 * length(text) × length(pattern) — never exponential, whatever the pattern.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
