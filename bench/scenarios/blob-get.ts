/** Blob GET of every size at every concurrency (whole blobs), and 1 MiB Range reads at random offsets. */
import { getBlob } from '../data/dataset.ts';
import { sizeId, sizeLabel } from '../lib/units.ts';
import type { HttpLoad } from '../load/types.ts';
import type { Target } from '../targets/types.ts';
import { httpCase } from './http-case.ts';
import type { Scenario, ScenarioEnv } from './types.ts';

const SMALL = 64 * 1024;

/** Whole-blob GETs. */
export function blobGetScenario(env: ScenarioEnv): Scenario {
  const { profile, data } = env;
  const path = (size: number) => `/v2/${getBlob(data, size).repo}/blobs/${getBlob(data, size).digest}`;
  const load = (target: Target, size: number, connections: number): HttpLoad => ({
    baseUrl: target.baseUrl,
    method: 'GET',
    paths: [path(size)],
    headers: {},
    connections,
    durationSec: size >= 64 * 1024 * 1024 ? profile.bigWindowSec : profile.windowSec,
    maxRequests: 50_000_000,
    okStatus: [200],
  });
  const cases = profile.blobGet.sizes.flatMap((size) =>
    profile.blobGet.concurrency.map((c) =>
      httpCase(env, {
        id: `blob-get/${sizeId(size)}/c${c}`,
        title: `Blob GET ${sizeLabel(size)}, ${c} client${c > 1 ? 's' : ''}`,
        unit: size < SMALL ? 'req/s' : 'MiB/s',
        rounds: size >= 64 * 1024 * 1024 ? profile.heavyRounds : profile.rounds,
        bodySize: size,
        load: (t) => load(t, size, c),
      }),
    ),
  );
  const smallest = Math.min(...profile.blobGet.sizes);
  return {
    id: 'blob-get',
    title: 'Blob GET',
    feature: 'blob-get',
    description: 'GET /v2/<name>/blobs/<digest> of a whole blob, back to back on keep-alive connections.',
    cases,
    probe: (target) => probeBlob(target, path(smallest), smallest),
  };
}

/** 1 MiB Range reads at random offsets of one large blob. */
export function rangeScenario(env: ScenarioEnv): Scenario {
  const { profile, data } = env;
  const { length, blobSize, concurrency } = profile.range;
  const path = `/v2/${getBlob(data, blobSize).repo}/blobs/${getBlob(data, blobSize).digest}`;
  return {
    id: 'range',
    title: 'Range reads',
    feature: 'range',
    description: `GET of one blob with a random \`Range: bytes=a-b\` of ${sizeLabel(length)} per request.`,
    cases: [
      httpCase(env, {
        id: `range/${sizeId(length)}/c${concurrency}`,
        title: `Range ${sizeLabel(length)} at random offsets of ${sizeLabel(blobSize)}, ${concurrency} clients`,
        unit: 'MiB/s',
        rounds: profile.rounds,
        bodySize: length,
        load: (t) => ({
          baseUrl: t.baseUrl,
          method: 'GET',
          paths: [path],
          headers: {},
          connections: concurrency,
          durationSec: profile.windowSec,
          maxRequests: 50_000_000,
          randomRange: { length, size: blobSize },
          okStatus: [206],
        }),
      }),
    ],
    async probe(target) {
      const res = await fetch(`${target.baseUrl}${path}`, { headers: { ...target.headers, Range: 'bytes=100-199' } });
      const body = await res.arrayBuffer();
      if (res.status !== 206 || body.byteLength !== 100) return `Range GET answered ${res.status} with ${body.byteLength} bytes`;
      return undefined;
    },
  };
}

async function probeBlob(target: Target, path: string, size: number): Promise<string | undefined> {
  const res = await fetch(`${target.baseUrl}${path}`, { headers: target.headers });
  const body = await res.arrayBuffer();
  if (res.status !== 200) return `blob GET answered ${res.status}`;
  if (body.byteLength !== size) return `blob GET returned ${body.byteLength} bytes, expected ${size}`;
  return undefined;
}

