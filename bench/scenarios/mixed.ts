/**
 * Peak server memory while many clients push and pull big blobs at once: half the clients push (monolithic),
 * half pull, for a fixed window; then everything is cut off. The value is the server's peak RSS. Every server is
 * restarted right before its measurement: in one long run the case follows image-push, whose uncollected garbage
 * (about 60 MiB of Marina's heap, gone after one full collection) otherwise set the figure rather than this load.
 */
import { getBlob } from '../data/dataset.ts';
import { MiB, sizeId, sizeLabel } from '../lib/units.ts';
import { runLoad } from '../load/generators.ts';
import { pushBlobs, runPush } from './push.ts';
import type { Scenario, ScenarioEnv } from './types.ts';

/** The push-and-pull memory scenario. */
export function mixedScenario(env: ScenarioEnv): Scenario {
  const { profile, data } = env;
  const { size, pushers, pullers, windowSec } = profile.mixed;
  const blob = getBlob(data, size);
  let blobs: ReturnType<typeof pushBlobs> | undefined;
  return {
    id: 'mixed',
    title: 'Push + pull memory',
    feature: 'push',
    description: `${pushers} clients push and ${pullers} clients pull ${sizeLabel(size)} blobs at once for ${windowSec} s on a freshly restarted server; the value is the server's peak RSS (VmHWM).`,
    cases: [
      {
        id: `mixed/${sizeId(size)}/${pushers}+${pullers}`,
        title: `Peak RSS: ${pushers} pushing + ${pullers} pulling ${sizeLabel(size)}`,
        unit: 'MiB RSS',
        higherIsBetter: false,
        rounds: 1,
        freshServer: true,
        async measure(target) {
          blobs ??= pushBlobs(size, pushers);
          const [push, pull] = await Promise.all([
            runPush(env, {
              baseUrl: target.baseUrl,
              mode: 'monolithic',
              repo: data.repos.push,
              headers: target.headers,
              clients: pushers,
              windowSec,
              capSec: windowSec,
              maxPerClient: 1000,
              blob: { size, chunkSize: profile.push.chunkSize, ...blobs },
            }),
            runLoad(
              {
                baseUrl: target.baseUrl,
                method: 'GET',
                paths: [`/v2/${blob.repo}/blobs/${blob.digest}`],
                headers: target.headers,
                connections: pullers,
                durationSec: windowSec,
                maxRequests: 1_000_000,
                okStatus: [200],
              },
              'bun',
              env.generators,
            ),
          ]);
          return {
            value: Number.NaN,
            load: pull,
            extra: { pulledMiBps: pull.bytes / MiB / pull.seconds, pushesCompleted: push.requests, pushErrors: push.errors - (push.firstError?.startsWith('aborted') ? 1 : 0) },
          };
        },
        value: (sample) => (sample.server ? sample.server.peakRssBytes / MiB : Number.NaN),
        after(target) {
          if (blobs) target.forgetBlobs(blobs.digests);
          target.forgetUploads();
        },
      },
    ],
  };
}
