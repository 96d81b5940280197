/** Cold start: process start to the first 200 on /v2/, on the big store (bulk blobs, many tags, referrers). */
import { statusBytes } from '../lib/proc-stats.ts';
import { MiB } from '../lib/units.ts';
import type { Scenario, ScenarioEnv } from './types.ts';

/** Restarts each target and times it until it answers. */
export function coldStartScenario(env: ScenarioEnv): Scenario {
  const { profile, data } = env;
  const blobs = data.bulk.count + data.getBlobs.length + data.small.length;
  const store = `${blobs.toLocaleString('en-US')} blobs, ${data.tagList.count.toLocaleString('en-US')} tags, ${data.manifests.length.toLocaleString('en-US')} manifests`;
  return {
    id: 'cold-start',
    title: 'Cold start',
    feature: 'cold-start',
    description: `Spawn (pinned) to the first 200 on GET /v2/, polled every 2 ms, with a store of ${store}; page cache warm.`,
    cases: [
      {
        id: 'cold-start',
        title: `Cold start to first 200 (${store})`,
        unit: 'ms',
        higherIsBetter: false,
        rounds: profile.coldStart.rounds,
        selfWatched: true,
        async measure(target) {
          await target.stop();
          const ms = await target.start();
          return { value: ms, extra: { rssMiB: statusBytes(target.pid, 'VmRSS') / MiB } };
        },
      },
    ],
  };
}
