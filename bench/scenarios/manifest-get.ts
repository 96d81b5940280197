/** Manifest GET and HEAD, by tag and by digest, at many connections (request rate). */
import { MANIFEST_ACCEPT } from '../data/manifests.ts';
import type { HttpLoad } from '../load/types.ts';
import type { Target } from '../targets/types.ts';
import { httpCase } from './http-case.ts';
import type { Scenario, ScenarioEnv } from './types.ts';

/** The four manifest pull shapes. */
export function manifestScenario(env: ScenarioEnv): Scenario {
  const { profile, data } = env;
  const c = profile.manifest.connections;
  const load = (target: Target, method: 'GET' | 'HEAD', reference: string): HttpLoad => ({
    baseUrl: target.baseUrl,
    method,
    paths: [`/v2/${data.app.repo}/manifests/${reference}`],
    headers: { Accept: MANIFEST_ACCEPT },
    connections: c,
    durationSec: profile.windowSec,
    maxRequests: 50_000_000,
    okStatus: [200],
  });
  const shapes = [
    ['GET', 'tag', data.app.tag],
    ['GET', 'digest', data.app.digest],
    ['HEAD', 'tag', data.app.tag],
    ['HEAD', 'digest', data.app.digest],
  ] as const;
  return {
    id: 'manifest',
    title: 'Manifest GET/HEAD',
    feature: 'manifest',
    description: `GET and HEAD /v2/<name>/manifests/<reference> of a ${data.app.size}-byte OCI image manifest, ${c} connections.`,
    cases: shapes.map(([method, by, reference]) =>
      httpCase(env, {
        id: `manifest/${method.toLowerCase()}-${by}/c${c}`,
        title: `Manifest ${method} by ${by}, ${c} connections`,
        unit: 'req/s',
        rounds: profile.rounds,
        bodySize: data.app.size,
        load: (t) => load(t, method, reference),
      }),
    ),
    async probe(target) {
      const res = await fetch(`${target.baseUrl}/v2/${data.app.repo}/manifests/${data.app.tag}`, { headers: { ...target.headers, Accept: MANIFEST_ACCEPT } });
      const body = await res.arrayBuffer();
      if (res.status !== 200) return `manifest GET answered ${res.status}`;
      if (body.byteLength !== data.app.size) return `manifest GET returned ${body.byteLength} bytes, expected ${data.app.size}`;
      const digest = res.headers.get('docker-content-digest');
      if (digest !== data.app.digest) return `manifest GET sent Docker-Content-Digest ${digest}`;
      return undefined;
    },
  };
}
