/**
 * The page's stylesheet and script, served by Marina itself (no CDN) from `/ui/assets/`. The script only enhances:
 * every list and link works without it. It adds search-as-you-type on the repository list, copy buttons on
 * command lines, and `/` to focus the search box.
 */

/** `/ui/assets/marina.css`: light and dark by `prefers-color-scheme`, contrast ≥ 4.5:1 for text. */
export const STYLESHEET = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1b1f24; --muted: #4d5560; --line: #d0d7de; --accent: #0a58ca;
  --accent-bg: #e7f0ff; --code-bg: #f3f4f6; --warn: #8a4b00; --ok: #116329; --chart1: #0a58ca; --chart2: #b35900; --chart3: #116329; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0f1216; --fg: #e6e9ed; --muted: #a9b1bb; --line: #343b44; --accent: #7fb2ff; --accent-bg: #1a2636;
    --code-bg: #1a1f26; --warn: #ffb45c; --ok: #6fdc8c; --chart1: #7fb2ff; --chart2: #ffb45c; --chart3: #6fdc8c; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, summary:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -9999px; } .skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem; z-index: 2; }
header.top { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.25rem; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
header.top .brand { font-weight: 700; font-size: 1.1rem; text-decoration: none; color: var(--fg); }
header.top nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
header.top nav a[aria-current="page"] { font-weight: 700; text-decoration: none; }
header.top .who { margin-left: auto; color: var(--muted); }
main { padding: 1rem 1.25rem 3rem; max-width: 1200px; }
h1 { font-size: 1.4rem; margin: .4rem 0 1rem; word-break: break-all; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .6rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-weight: 600; color: var(--muted); font-size: .85rem; text-transform: uppercase; letter-spacing: .03em; }
tbody th { font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em; }
code { background: var(--code-bg); padding: .05rem .3rem; border-radius: 4px; word-break: break-all; }
.muted { color: var(--muted); }
.note { color: var(--muted); font-size: .9rem; }
.warn { color: var(--warn); }
.pill { display: inline-block; padding: 0 .45rem; border-radius: 999px; background: var(--accent-bg); font-size: .82rem; margin: 0 .2rem .2rem 0; }
form.search { display: flex; gap: .5rem; margin-bottom: 1rem; }
form.search input { flex: 1; max-width: 28rem; padding: .4rem .6rem; font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 6px; }
button, .button { font: inherit; padding: .35rem .8rem; border: 1px solid var(--line); border-radius: 6px; background: var(--accent-bg); color: var(--fg); cursor: pointer; }
nav.pager { display: flex; gap: 1rem; margin-top: 1rem; }
.cmd { display: flex; gap: .4rem; align-items: center; margin: .15rem 0; }
.cmd button { padding: .05rem .5rem; font-size: .8rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; word-break: break-all; }
ul.tree, ul.tree ul { list-style: none; padding-left: 1.2rem; border-left: 1px solid var(--line); margin: .2rem 0; }
ul.tree li { margin: .35rem 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: .8rem; margin: .5rem 0 1rem; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem; }
.card .value { font-size: 1.35rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .label { color: var(--muted); font-size: .85rem; }
svg.chart { width: 100%; max-width: 720px; height: auto; display: block; }
svg.chart .axis { stroke: var(--line); } svg.chart text { fill: var(--muted); font-size: 11px; font-family: system-ui, sans-serif; }
svg.chart .s0 { stroke: var(--chart1); fill: none; stroke-width: 2; } svg.chart .s1 { stroke: var(--chart2); fill: none; stroke-width: 2; }
svg.chart .s2 { stroke: var(--chart3); fill: none; stroke-width: 2; }
.legend span { margin-right: 1rem; } .legend .k0 { color: var(--chart1); } .legend .k1 { color: var(--chart2); } .legend .k2 { color: var(--chart3); }
.bar { height: .6rem; background: var(--accent-bg); border-radius: 3px; overflow: hidden; min-width: 6rem; }
.bar > span { display: block; height: 100%; background: var(--accent); }
${Array.from({ length: 101 }, (_, i) => `.bar > .w${i} { width: ${i}%; }`).join('\n')}
`;

/** `/ui/assets/marina.js`: progressive enhancement only; text from the server is inserted with textContent. */
export const SCRIPT = `
(function () {
  'use strict';
  function addCopyButtons(root) {
    root.querySelectorAll('.cmd code').forEach(function (code) {
      if (code.parentNode.querySelector('button')) return;
      var b = document.createElement('button');
      b.type = 'button'; b.textContent = 'Copy'; b.setAttribute('aria-label', 'Copy: ' + code.textContent);
      b.addEventListener('click', function () {
        var done = function () { b.textContent = 'Copied'; setTimeout(function () { b.textContent = 'Copy'; }, 1500); };
        if (navigator.clipboard) navigator.clipboard.writeText(code.textContent).then(done, function () {});
      });
      code.parentNode.appendChild(b);
    });
  }
  function bytes(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return i === 0 ? n + ' B' : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0) + ' ' + u[i];
  }
  function time(ms) { return ms ? new Date(ms).toISOString().replace(/\\.\\d{3}Z$/, 'Z').replace('T', ' ') : '\\u2013'; }
  function cell(tr, text, cls) { var td = document.createElement('td'); if (cls) td.className = cls; td.textContent = text; tr.appendChild(td); return td; }
  function liveSearch(form) {
    var input = form.querySelector('input[name=q]');
    var table = document.getElementById('repositories');
    if (!input || !table) return;
    var tbody = table.querySelector('tbody'), status = document.getElementById('search-status'), pager = document.getElementById('pager');
    var timer = 0, seq = 0;
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim(), mine = ++seq;
        fetch('/ui/api/repositories?n=50&q=' + encodeURIComponent(q), { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
          .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
          .then(function (page) {
            if (mine !== seq) return;
            tbody.textContent = '';
            page.items.forEach(function (repo) {
              var tr = document.createElement('tr');
              var a = document.createElement('a'); a.href = '/ui/r/' + repo.name; a.textContent = repo.name;
              cell(tr, '').appendChild(a);
              cell(tr, repo.tags.toLocaleString('en-US') + (repo.tagsCapped ? '+' : ''), 'num');
              cell(tr, (repo.sizePartial ? '\\u2265 ' : '') + bytes(repo.size), 'num');
              cell(tr, time(repo.lastPush), 'num');
              tbody.appendChild(tr);
            });
            if (status) status.textContent = page.items.length + (page.next ? '+' : '') + ' repositories' + (q ? ' matching \\u201c' + q + '\\u201d' : '');
            if (pager) pager.hidden = true;
            history.replaceState(null, '', q ? '/ui/?q=' + encodeURIComponent(q) : '/ui/');
          })
          .catch(function () {});
      }, 150);
    });
  }
  document.addEventListener('keydown', function (e) {
    var t = e.target;
    if (e.key === '/' && !(t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement)) {
      var q = document.querySelector('input[name=q]');
      if (q) { e.preventDefault(); q.focus(); }
    }
  });
  addCopyButtons(document);
  document.querySelectorAll('form.search[data-live]').forEach(liveSearch);
})();
`;
