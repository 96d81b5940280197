/** HTML of the registry-wide pages: the mirror's cache and the storage report. */
import { formatBytes, formatCount, formatPercent, formatTime, shortDigest } from './format.ts';
import { html, pathPart, type SafeHtml } from './html.ts';
import type { MirrorSample } from './mirror-samples.ts';
import type { MirrorReading } from './mirror-reader.ts';
import type { StorageResult, StorageState } from './storage-report.ts';
import { lineChart } from './svg-chart.ts';

/** What the mirror page shows. */
export interface MirrorPageData {
  reading: MirrorReading;
  samples: MirrorSample[];
  /** The cache budget in bytes, when one is set. */
  budget?: number;
  /** Images of the ledger the caller may see (already filtered by pull rights). */
  visibleImages?: MirrorReading['images'];
  visibleEviction?: MirrorReading['evictionOrder'];
}

/** Top images shown. */
export const TOP_IMAGES = 10;

const card = (label: string, value: string, title?: string) => html`<div class="card"${title ? html` title="${title}"` : ''}><div class="value">${value}</div><div class="label">${label}</div></div>`;
const imageLink = (repository: string, digest: string) => html`<a href="/ui/r/${pathPart(repository)}@${digest}">${repository}@${shortDigest(digest)}</a>`;

/** Answers from the cache, as the page's overall ratio counts them: hits, joined fills and stale answers. */
function fromCacheOf(u: { hits?: number; joined?: number; stale?: number }): number {
  return (u.hits ?? 0) + (u.joined ?? 0) + (u.stale ?? 0);
}

/** The mirror page. */
export function mirrorBody(data: MirrorPageData): SafeHtml {
  const c = data.reading.counters;
  if (!c) return html`<h1>Mirror</h1><p>The mirror reports no counters.</p>`;
  const answered = c.hits + c.misses + c.stale + c.joined;
  const fromCache = c.hits + c.stale + c.joined;
  const upstreamRows = data.reading.upstreams.map(
    (u) => html`<tr><th scope="row">${u.name}<br><span class="muted">${u.url ?? ''}</span></th>
<td class="num">${u.hits !== undefined && u.misses !== undefined ? formatPercent(fromCacheOf(u), fromCacheOf(u) + u.misses) : html`<span class="muted">n/a</span>`}</td>
<td class="num">${formatCount(u.requests)}</td><td class="num">${formatCount(u.failures)}</td>
<td class="num">${u.bytesServedFromCache !== undefined ? formatBytes(u.bytesServedFromCache) : html`<span class="muted">n/a</span>`}</td>
<td class="num">${formatBytes(u.bytesFetched)}</td>
<td class="num">${formatCount(u.cachedImages)}</td></tr>`,
  );
  const images = data.visibleImages ?? [];
  const largest = [...images].sort((a, b) => b.size - a.size).slice(0, TOP_IMAGES);
  const recent = [...images].sort((a, b) => b.lastAccess - a.lastAccess).slice(0, TOP_IMAGES);
  const imageRows = (list: typeof images) =>
    list.length ? list.map((i) => html`<tr><td>${imageLink(i.repository, i.digest)}</td><td class="num">${formatBytes(i.size)}</td><td class="num">${formatTime(i.lastAccess)}</td></tr>`) : html`<tr><td colspan="3" class="muted">Nothing cached yet.</td></tr>`;
  let cumulative = 0;
  const eviction = (data.visibleEviction ?? []).map((i) => {
    cumulative += i.size;
    return html`<tr><td>${imageLink(i.repository, i.digest)}</td><td class="num">${formatBytes(i.size)}</td><td class="num">${formatBytes(cumulative)}</td><td class="num">${formatTime(i.lastAccess)}</td></tr>`;
  });
  const s = data.samples;
  const rate = (pick: (x: MirrorSample) => number) => s.slice(1).map((x, i): [number, number] => [x.at, Math.max(0, pick(x) - pick(s[i]!))]);
  const used = c.cacheBytes ?? 0;
  return html`<h1>Mirror</h1>
<div class="cards">
${card('hit ratio', formatPercent(fromCache, answered), 'answers from the cache (hits, joined fills, stale) among all mirrored answers')}
${card('served from cache', formatBytes(c.bytesServedFromCache))}
${card('fetched from upstreams', formatBytes(c.bytesFetched))}
${card('bytes saved', formatBytes(c.bytesServedFromCache), 'upstream traffic avoided: every byte served from the cache would otherwise have been fetched')}
${card('stale answers', formatCount(c.stale), 'served from the cache while the upstream failed')}
${card('cache use', data.budget ? `${formatBytes(used)} of ${formatBytes(data.budget)}` : formatBytes(used), data.budget ? formatPercent(used, data.budget) : 'no budget set (--cache-max)')}
</div>
${data.budget ? html`<div class="bar" role="meter" aria-label="Cache budget use" aria-valuemin="0" aria-valuemax="${data.budget}" aria-valuenow="${used}"><span class="w${Math.min(100, Math.round((used / data.budget) * 100))}"></span></div><p class="note">${formatPercent(used, data.budget)} of the budget; eviction starts at 95 %.</p>` : ''}
<p class="note">Counters since the server started: ${formatCount(c.hits)} hits, ${formatCount(c.misses)} misses, ${formatCount(c.joined)} joined fills, ${formatCount(c.stale)} stale, ${formatCount(c.evictedImages)} images evicted.</p>
<h2>Upstreams</h2>
<table><thead><tr><th scope="col">Upstream</th><th scope="col" class="num">Hit ratio</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Failures</th><th scope="col" class="num">From cache</th><th scope="col" class="num">Fetched</th><th scope="col" class="num">Cached images</th></tr></thead>
<tbody>${upstreamRows}</tbody></table>
<h2>Over time</h2>
${lineChart({ title: 'Bytes since start: served from cache and fetched from upstreams', format: formatBytes, series: [
  { label: 'from cache', points: s.map((x) => [x.at, x.bytesServedFromCache]) },
  { label: 'fetched', points: s.map((x) => [x.at, x.bytesFetched]) },
] })}
${lineChart({ title: 'Answers per sample interval', format: (v) => formatCount(Math.round(v)), series: [
  { label: 'hits', points: rate((x) => x.hits + x.joined) },
  { label: 'misses', points: rate((x) => x.misses) },
  { label: 'stale', points: rate((x) => x.stale) },
] })}
${lineChart({ title: 'Cache size', format: formatBytes, limit: data.budget ? { value: data.budget, label: 'budget' } : undefined, series: [{ label: 'cached', points: s.map((x) => [x.at, x.cacheBytes ?? 0]) }] })}
<h2>Top images</h2>
<p class="note">The ledger keeps last access, not pull counts: largest and most recently used. Size: manifest, config and layers.</p>
<table><caption>Largest</caption><thead><tr><th scope="col">Image</th><th scope="col" class="num">Size</th><th scope="col" class="num">Last access</th></tr></thead><tbody>${imageRows(largest)}</tbody></table>
<table><caption>Most recently used</caption><thead><tr><th scope="col">Image</th><th scope="col" class="num">Size</th><th scope="col" class="num">Last access</th></tr></thead><tbody>${imageRows(recent)}</tbody></table>
<h2>Evicted next</h2>
<p class="note">Least recently used first (an image is as recent as its newest blob). Pushed local content is never evicted. Cumulative sizes are an upper bound: a layer shared with another cached image of the repository stays until its last image goes.</p>
<table><thead><tr><th scope="col">Image</th><th scope="col" class="num">Size</th><th scope="col" class="num">Cumulative</th><th scope="col" class="num">Last access</th></tr></thead>
<tbody>${eviction.length ? eviction : html`<tr><td colspan="4" class="muted">Nothing to evict.</td></tr>`}</tbody></table>`;
}

/** The storage page: the last report (if any), and a button to compute one. */
export function storageBody(state: StorageState, result: StorageResult | undefined): SafeHtml {
  const button = html`<form method="post" action="/ui/storage"><button type="submit"${state.running ? ' disabled' : ''}>${state.running ? 'Computing…' : result ? 'Compute again' : 'Compute now'}</button></form>`;
  const intro = html`<h1>Storage</h1>
<p>Bytes by repository and what <code>marina gc</code> would free are computed on demand: both walk the whole store (every repository's manifests, then every blob file for the dry-run collection).</p>
${button}
${state.running ? html`<p aria-live="polite">Started ${formatTime(state.running.startedAt)}; this page reloads until it is done.</p>` : ''}`;
  if (!result) return html`${intro}<p class="muted">No report yet.</p>`;
  const top = result.repositories[0]?.size ?? 1;
  const rows = result.repositories.slice(0, 100).map(
    (r) => html`<tr><td><a href="/ui/r/${pathPart(r.name)}">${r.name}</a></td><td class="num">${formatCount(r.tags)}</td><td class="num">${formatCount(r.manifests)}</td><td class="num">${r.sizePartial ? '≥ ' : ''}${formatBytes(r.size)}</td>
<td><div class="bar" aria-hidden="true"><span class="w${Math.round((r.size / Math.max(1, top)) * 100)}"></span></div></td></tr>`,
  );
  const gc = result.gc;
  return html`${intro}
<p class="note">Report of ${formatTime(result.finishedAt)}, computed in ${formatCount(result.durationMs)} ms${result.partial ? ', stopped after the first 100,000 repositories' : ''}.</p>
<h2>What gc would free</h2>
${gc ? html`<div class="cards">
<div class="card"><div class="value">${formatBytes(gc.freedBytes)}</div><div class="label">in ${formatCount(gc.deletedBlobs)} blob files no repository links</div></div>
<div class="card"><div class="value">${formatCount(gc.unlinked)}</div><div class="label">blob links no manifest references</div></div>
<div class="card"><div class="value">${formatCount(gc.repositories)}</div><div class="label">repositories scanned</div></div>
</div>
<p class="note">A dry run with the default 1 h grace period. Blobs that become unlinked when their links go are freed by a real run only, so the bytes shown are a lower bound.</p>` : html`<p class="warn">The dry run failed: ${result.gcError ?? 'unknown error'}</p>`}
<h2>Bytes by repository</h2>
<p class="note">${formatCount(result.measured)} repositories measured, ${formatBytes(result.measuredBytes)} counted per repository (blobs shared by several repositories count in each). Largest first: up to 100 of those you may see.</p>
<table><thead><tr><th scope="col">Repository</th><th scope="col" class="num">Tags</th><th scope="col" class="num">Manifests</th><th scope="col" class="num">Size</th><th scope="col"><span class="skip">Share</span></th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="5" class="muted">No repositories.</td></tr>`}</tbody></table>`;
}
