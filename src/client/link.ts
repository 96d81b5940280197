/** The `Link: <url>; rel="next"` header of paginated listings (RFC 8288), resolved against the request URL. */
export function nextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /\brel\s*=\s*"?next"?/i.test(m[2]!)) return new URL(m[1]!, base).toString();
  }
  return undefined;
}
