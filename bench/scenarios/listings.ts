/** Discovery endpoints at scale: walking a 10,000-tag list page by page, and a filtered 1,000-referrer list. */
import type { Target } from '../targets/types.ts';
import { httpCase } from './http-case.ts';
import type { Scenario, ScenarioEnv } from './types.ts';

/** Full walks of a big tag list, following `Link` from page to page. */
export function tagsScenario(env: ScenarioEnv): Scenario {
  const { profile, data } = env;
  const { repo, count, pageSize } = data.tagList;
  const first = `/v2/${repo}/tags/list?n=${pageSize}`;
  const c = profile.tags.connections;
  return {
    id: 'tags',
    title: 'Tags list',
    feature: 'tags',
    description: `Walks of /v2/<name>/tags/list over ${count.toLocaleString('en-US')} tags with n=${pageSize}, following Link to the end; one walk = all pages. Walks in flight when the window closes finish and count (time runs to the last one).`,
    cases: [
      httpCase(env, {
        id: `tags/${count}/n${pageSize}/c${c}`,
        title: `Tags list walk: ${count.toLocaleString('en-US')} tags, n=${pageSize}, ${c} clients`,
        unit: 'walks/s',
        rounds: profile.rounds,
        bodySize: pageSize * 8,
        load: (t: Target) => ({
          baseUrl: t.baseUrl,
          method: 'GET',
          paths: [first],
          headers: {},
          connections: c,
          durationSec: profile.windowSec,
          maxRequests: 10_000_000,
          walk: true,
          okStatus: [200],
          // A slow target's walk can take longer than the window: let walks in flight finish and count them.
          drainSec: 30,
        }),
      }),
    ],
    async probe(target) {
      let url: string | undefined = `${target.baseUrl}${first}`;
      const tags: string[] = [];
      let pages = 0;
      while (url && pages <= count) {
        const res: Response = await fetch(url, { headers: target.headers });
        if (res.status !== 200) return `tags list answered ${res.status}`;
        tags.push(...(((await res.json()) as { tags?: string[] }).tags ?? []));
        pages++;
        const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];
        url = next ? new URL(next, target.baseUrl).href : undefined;
      }
      if (tags.length !== count) return `a walk listed ${tags.length} tags, expected ${count}`;
      const expected = Math.ceil(count / pageSize);
      return pages === expected ? undefined : { note: `a walk is ${pages} page${pages > 1 ? 's' : ''} (n=${pageSize} would give ${expected})` };
    },
  };
}

/** The referrers of a subject with many referrers, filtered by artifact type. */
export function referrersScenario(env: ScenarioEnv): Scenario {
  const { profile, data } = env;
  const { repo, subject, artifactType, expected, total } = data.referrers;
  const path = `/v2/${repo}/referrers/${subject}?artifactType=${encodeURIComponent(artifactType)}`;
  const c = profile.referrers.connections;
  return {
    id: 'referrers',
    title: 'Referrers',
    feature: 'referrers',
    description: `GET /v2/<name>/referrers/<digest>?artifactType=… of a subject with ${total.toLocaleString('en-US')} referrers, ${expected.toLocaleString('en-US')} of that type.`,
    cases: [
      httpCase(env, {
        id: `referrers/${total}/filtered/c${c}`,
        title: `Referrers of a subject with ${total.toLocaleString('en-US')}, filtered to ${expected.toLocaleString('en-US')}, ${c} clients`,
        unit: 'req/s',
        rounds: profile.rounds,
        bodySize: expected * 300,
        load: (t: Target) => ({
          baseUrl: t.baseUrl,
          method: 'GET',
          paths: [path],
          headers: {},
          connections: c,
          durationSec: profile.windowSec,
          maxRequests: 10_000_000,
          okStatus: [200],
        }),
      }),
    ],
    async probe(target) {
      const res = await fetch(`${target.baseUrl}${path}`, { headers: target.headers });
      if (res.status === 404) return 'no referrers API (404)';
      if (res.status !== 200) return `referrers answered ${res.status}`;
      const body = (await res.json()) as { manifests?: { artifactType?: string }[] };
      const n = body.manifests?.length ?? 0;
      if (n !== expected) return `referrers listed ${n}, expected ${expected}`;
      if (body.manifests?.some((m) => m.artifactType !== artifactType)) return 'filter not applied';
      return undefined;
    },
  };
}
