/**
 * HTML escaping for the web page. Everything read from the store (repository names, tags, media types,
 * annotations) and from the request (Host) is attacker-controlled, so the `html` template escapes every
 * interpolated value unless it is already {@link SafeHtml} built by this module.
 */

/** Markup that is already escaped (built by {@link html} or {@link raw}). */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for an element body or a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

/** Values a template accepts: text (escaped), safe markup, lists of either, and nothing (renders empty). */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(value);
}

/** Tagged template: literal parts are trusted markup, every `${value}` is escaped. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Trusts a string as markup. Only for constants written in this code base. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/**
 * A path segment or query value for a link. Repository names and references are validated ASCII, but the URL
 * is still percent-encoded (keeping `/`, `:` and `@`, which the UI's paths use) and then HTML-escaped by the template.
 */
export function pathPart(value: string): string {
  return encodeURIComponent(value).replace(/%2F/gi, '/').replace(/%3A/gi, ':').replace(/%40/g, '@');
}
