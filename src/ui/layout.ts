/** The page shell every UI page shares: head, navigation, who is logged in, and the response headers. */
import { html, type SafeHtml } from './html.ts';

/** The sections in the navigation. */
export type Section = 'repositories' | 'mirror' | 'storage';

/** What the shell needs besides the page body. */
export interface ShellOptions {
  title: string;
  section?: Section;
  /** Show the Mirror link (a mirror is configured). */
  mirror: boolean;
  /** The logged-in user, or undefined. */
  user?: string;
  /** Access control is on: offer a login link to anonymous visitors. */
  canLogIn: boolean;
  /** The current path, for the login link's return address. */
  path: string;
  /** Reload the page after this many seconds (a background computation is running). */
  refreshSeconds?: number;
}

/** Security headers of every UI response: no inline script or style can run, even if escaping were ever missed. */
export const UI_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

/** A complete HTML page. */
export function page(options: ShellOptions, body: SafeHtml): Response {
  const nav = (section: Section, href: string, label: string) =>
    html`<li><a href="${href}"${options.section === section ? html` aria-current="page"` : ''}>${label}</a></li>`;
  const who = options.user
    ? html`<span class="who">Signed in as <strong>${options.user}</strong></span>`
    : options.canLogIn
      ? html`<span class="who"><a href="/ui/login?next=${encodeURIComponent(options.path)}">Log in</a></span>`
      : '';
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${options.refreshSeconds ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}">` : ''}
<title>${options.title} · Marina</title>
<link rel="stylesheet" href="/ui/assets/marina.css">
<script src="/ui/assets/marina.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/ui/">Marina</a>
<nav aria-label="Sections"><ul>
${nav('repositories', '/ui/', 'Repositories')}
${options.mirror ? nav('mirror', '/ui/mirror', 'Mirror') : ''}
${nav('storage', '/ui/storage', 'Storage')}
</ul></nav>
${who}
</header>
<main id="main" tabindex="-1">
${body}
</main>
</body>
</html>
`;
  return htmlResponse(doc.value);
}

/** An HTML response with the UI's headers. */
export function htmlResponse(text: string, status = 200): Response {
  return new Response(text, { status, headers: { ...UI_HEADERS, 'Content-Type': 'text/html; charset=utf-8' } });
}

/** A JSON response with the UI's headers. */
export function jsonResponse(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { ...UI_HEADERS, 'Content-Type': 'application/json' } });
}
