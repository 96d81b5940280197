import { describe, expect, test } from 'bun:test';
import { serveConfig } from '../../src/cli/serve.ts';
import { escapeHtml, html, pathPart, raw } from '../../src/ui/html.ts';
import { parseRepositoryPath } from '../../src/ui/routes.ts';
import { lineChart } from '../../src/ui/svg-chart.ts';

describe('web page escaping', () => {
  test('escapes the characters that could open a tag or leave an attribute', () => {
    expect(escapeHtml(`<script>"x" & 'y' \`z\`</script>`)).toBe('&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39; &#96;z&#96;&lt;/script&gt;');
  });

  test('the html template escapes every interpolated value, also inside lists, and keeps built markup as it is', () => {
    const hostile = '<img src=x onerror="alert(1)">';
    const inner = html`<b>${hostile}</b>`;
    const out = html`<p title="${hostile}">${[hostile, inner, 3, null, undefined, false]}</p>`.value;
    expect(out).toBe(
      '<p title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;<b>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</b>3</p>',
    );
    expect(html`${raw('<hr>')}`.value).toBe('<hr>');
  });

  test('chart labels are escaped and coordinates are numbers only', () => {
    const svg = lineChart({ title: '<script>t</script>', format: String, series: [{ label: '"><script>l</script>', points: [[0, 1], [1000, 2]] }] }).value;
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;t&lt;/script&gt;');
    expect(svg).toMatch(/points="[\d., ]+"/);
  });

  test('link paths keep / : @ and percent-encode everything else', () => {
    expect(pathPart('a/b@sha256:00')).toBe('a/b@sha256:00');
    expect(pathPart('a b?c#d"e')).toBe('a%20b%3Fc%23d%22e');
  });
});

describe('web page addresses', () => {
  test('a repository path names a repository, a manifest by digest, or one by tag', () => {
    expect(parseRepositoryPath('team/app')).toEqual({ name: 'team/app' });
    expect(parseRepositoryPath('team/app@sha256:abc')).toEqual({ name: 'team/app', reference: 'sha256:abc' });
    expect(parseRepositoryPath('team/app:v1.0')).toEqual({ name: 'team/app', reference: 'v1.0' });
    expect(parseRepositoryPath('team%2Fapp%3Av1')).toEqual({ name: 'team/app', reference: 'v1' });
  });
});

describe('web page settings', () => {
  test('the page is on by default and off with --no-ui, MARINA_UI=false or ui = false in the config', () => {
    const config = (argv: string[], env: Record<string, string> = {}) => {
      const c = serveConfig(argv, env);
      if (c === 'help') throw new Error('unexpected help');
      return c.ui;
    };
    expect(config([])).toBe(true);
    expect(config(['--no-ui'])).toBe(false);
    expect(config([], { MARINA_UI: 'false' })).toBe(false);
    expect(config([], { MARINA_UI: 'true' })).toBe(true);
  });
});
