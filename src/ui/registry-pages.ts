/** HTML of the registry pages: the repository list, one repository's tags, and one manifest or index. */
import { formatBytes, formatCount, formatTime, shortDigest } from './format.ts';
import { html, pathPart, type SafeHtml } from './html.ts';
import type { ManifestView, ReferrerNode, RepositoryPage, TagPage } from './queries.ts';

/** Where clients reach this registry, for the copyable commands (`host:port` of the request, escaped on output). */
export interface PullTarget {
  host: string;
  /** True for plain HTTP: crane needs `--insecure` then. */
  insecure: boolean;
}

/** The repository list with its search form (works as a plain GET form without JavaScript). */
export function repositoryListBody(list: RepositoryPage, q: string | undefined, mayList: boolean): SafeHtml {
  if (!mayList) {
    return html`<h1>Repositories</h1><p>You may not list the repositories of this registry. Open a repository you may pull by its address (<code>/ui/r/&lt;name&gt;</code>), or log in.</p>`;
  }
  const rows = list.items.map(
    (r) => html`<tr>
<td><a href="/ui/r/${pathPart(r.name)}">${r.name}</a></td>
<td class="num">${formatCount(r.tags)}${r.tagsCapped ? '+' : ''}</td>
<td class="num">${r.sizePartial ? '≥ ' : ''}${formatBytes(r.size)}</td>
<td class="num">${formatTime(r.lastPush)}</td>
</tr>`,
  );
  const next = list.next ? html`<a rel="next" href="/ui/?${q ? html`q=${encodeURIComponent(q)}&amp;` : ''}last=${encodeURIComponent(list.next)}">Next page →</a>` : '';
  return html`<h1>Repositories</h1>
<form class="search" role="search" method="get" action="/ui/" data-live>
<label for="q" class="skip">Search repositories</label>
<input id="q" name="q" type="search" value="${q ?? ''}" placeholder="Search repositories (press /)" autocomplete="off" maxlength="128">
<button type="submit">Search</button>
</form>
<p id="search-status" class="note" aria-live="polite">${list.items.length}${list.next ? '+' : ''} repositories${q ? html` matching “${q}”` : ''}</p>
<table id="repositories">
<caption class="skip">Repositories</caption>
<thead><tr><th scope="col">Repository</th><th scope="col" class="num">Tags</th><th scope="col" class="num">Size</th><th scope="col" class="num">Last push</th></tr></thead>
<tbody>${rows}</tbody>
</table>
<nav id="pager" class="pager" aria-label="Pages"><a href="/ui/${q ? html`?q=${encodeURIComponent(q)}` : ''}">First page</a>${next}</nav>
<p class="note">Size: distinct blobs referenced by the repository's manifests, plus the manifests. Last push: when a blob was last linked into the repository (the index records no manifest push time).</p>`;
}

/** A repository's tags with copyable pull commands. */
export function tagListBody(page: TagPage, target: PullTarget, q: string | undefined): SafeHtml {
  const name = page.repository;
  const rows = page.items.map((t) => {
    const ref = html`/ui/r/${pathPart(name)}@${t.digest}`;
    const pull = `${target.host}/${name}:${t.tag}`;
    return html`<tr>
<td><a href="${ref}">${t.tag}</a>${t.platforms ? html`<br>${t.platforms.map((p) => html`<span class="pill">${p}</span>`)}` : ''}</td>
<td><code title="${t.digest}">${shortDigest(t.digest)}</code><br><span class="muted">${t.mediaType ?? 'missing manifest'}</span>${t.artifactType ? html` <span class="pill">${t.artifactType}</span>` : ''}</td>
<td class="num">${formatBytes(t.size)}</td>
<td class="num">${formatTime(t.pushedAt)}</td>
<td><div class="cmd"><code>docker pull ${pull}</code></div><div class="cmd"><code>crane pull ${target.insecure ? '--insecure ' : ''}${pull} ${t.tag}.tar</code></div></td>
</tr>`;
  });
  const next = page.next ? html`<a rel="next" href="/ui/r/${pathPart(name)}?${q ? html`q=${encodeURIComponent(q)}&amp;` : ''}last=${encodeURIComponent(page.next)}">Next page →</a>` : '';
  return html`<nav aria-label="Breadcrumb"><a href="/ui/">Repositories</a> /</nav>
<h1>${name}</h1>
<form class="search" role="search" method="get" action="/ui/r/${pathPart(name)}">
<label for="tq" class="skip">Filter tags</label>
<input id="tq" name="q" type="search" value="${q ?? ''}" placeholder="Filter tags" autocomplete="off" maxlength="128">
<button type="submit">Filter</button>
</form>
<table id="tags">
<caption class="skip">Tags of ${name}</caption>
<thead><tr><th scope="col">Tag</th><th scope="col">Digest / type</th><th scope="col" class="num">Size</th><th scope="col" class="num">Pushed</th><th scope="col">Pull</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="5" class="muted">No tags${q ? ' match' : ''}.</td></tr>`}</tbody>
</table>
<nav class="pager" aria-label="Pages"><a href="/ui/r/${pathPart(name)}">First page</a>${next}</nav>
<p class="note">Size: manifest, config and layers (for an index, of each platform's image). Pushed: ${page.pushTimeNote}</p>`;
}

/** A manifest or index: platforms, config, layers, annotations and the referrers tree, each linked. */
export function manifestBody(view: ManifestView, target: PullTarget): SafeHtml {
  const repo = pathPart(view.repository);
  const link = (digest: string) => html`/ui/r/${repo}@${digest}`;
  const entries = view.manifests.map(
    (m) => html`<tr>
<td>${m.platform ?? m.artifactType ?? 'unknown'}</td>
<td>${m.present ? html`<a href="${link(m.digest)}"><code>${shortDigest(m.digest)}</code></a>` : html`<code>${shortDigest(m.digest)}</code> <span class="muted">(not stored here)</span>`}</td>
<td>${m.mediaType}</td><td class="num">${formatBytes(m.size)}</td></tr>`,
  );
  const layers = view.layers.map(
    (l, i) => html`<tr><td class="num">${i + 1}</td><td><code title="${l.digest}">${shortDigest(l.digest)}</code>${l.annotations ? annotationList(l.annotations) : ''}</td><td>${l.mediaType}</td><td class="num">${formatBytes(l.size)}</td></tr>`,
  );
  const annotations = Object.entries(view.annotations);
  const ref = view.tag ? `:${view.tag}` : `@${view.digest}`;
  return html`<nav aria-label="Breadcrumb"><a href="/ui/">Repositories</a> / <a href="/ui/r/${repo}">${view.repository}</a> /</nav>
<h1>${view.repository}${ref}</h1>
<dl class="facts">
<dt>Digest</dt><dd><code>${view.digest}</code></dd>
<dt>Media type</dt><dd>${view.mediaType}</dd>
${view.artifactType ? html`<dt>Artifact type</dt><dd>${view.artifactType}</dd>` : ''}
<dt>Size</dt><dd>${formatBytes(view.size)} <span class="muted">(${view.isIndex ? 'index and its images' : 'manifest, config and layers'})</span></dd>
<dt>Pushed</dt><dd>${formatTime(view.pushedAt)} <span class="muted">(newest blob linked)</span></dd>
${view.subject ? html`<dt>Subject</dt><dd>${view.subject.present ? html`<a href="${link(view.subject.digest)}"><code>${view.subject.digest}</code></a>` : html`<code>${view.subject.digest}</code>`}</dd>` : ''}
<dt>Pull</dt><dd><div class="cmd"><code>docker pull ${target.host}/${view.repository}@${view.digest}</code></div><div class="cmd"><code>crane manifest ${target.insecure ? '--insecure ' : ''}${target.host}/${view.repository}@${view.digest}</code></div></dd>
</dl>
${view.isIndex ? html`<h2 id="platforms">Platforms</h2><table><thead><tr><th scope="col">Platform</th><th scope="col">Manifest</th><th scope="col">Media type</th><th scope="col" class="num">Size</th></tr></thead><tbody>${entries}</tbody></table>` : ''}
${view.config ? html`<h2 id="config">Config</h2><table><thead><tr><th scope="col">Digest</th><th scope="col">Media type</th><th scope="col" class="num">Size</th></tr></thead><tbody><tr><td><code title="${view.config.digest}">${shortDigest(view.config.digest)}</code></td><td>${view.config.mediaType}</td><td class="num">${formatBytes(view.config.size)}</td></tr></tbody></table>` : ''}
${view.isIndex ? '' : html`<h2 id="layers">Layers</h2><table><thead><tr><th scope="col" class="num">#</th><th scope="col">Digest</th><th scope="col">Media type</th><th scope="col" class="num">Size</th></tr></thead><tbody>${layers.length ? layers : html`<tr><td colspan="4" class="muted">No layers.</td></tr>`}</tbody></table>`}
<h2 id="annotations">Annotations</h2>
${annotations.length ? annotationList(view.annotations) : html`<p class="muted">None.</p>`}
<h2 id="referrers">Referrers</h2>
${view.referrers.length ? html`<ul class="tree">${view.referrers.map((r) => referrerItem(r, link))}</ul>` : html`<p class="muted">No signatures, SBOMs or other artifacts refer to this manifest.</p>`}
${view.referrersTruncated ? html`<p class="note warn">The tree is cut short; use the referrers API for the full list.</p>` : ''}`;
}

function referrerItem(node: ReferrerNode, link: (digest: string) => SafeHtml): SafeHtml {
  return html`<li><a href="${link(node.digest)}"><code>${shortDigest(node.digest)}</code></a> <span class="pill">${node.artifactType ?? node.mediaType}</span> <span class="muted">${formatBytes(node.size)}</span>
${node.annotations ? annotationList(node.annotations) : ''}
${node.referrers.length ? html`<ul>${node.referrers.map((r) => referrerItem(r, link))}</ul>` : ''}</li>`;
}

function annotationList(annotations: Record<string, string>): SafeHtml {
  return html`<dl class="facts annotations">${Object.entries(annotations).map(([k, v]) => html`<dt><code>${k}</code></dt><dd>${v}</dd>`)}</dl>`;
}
