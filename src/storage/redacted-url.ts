/** Database URLs for logs and errors. Its own file so the startup line can use it without loading the PostgreSQL stores. */

/** The URL without its password, for logs and errors. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}
