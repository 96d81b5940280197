/** Cold start: process start to the first 200 on /v2/, on the big store (bulk blobs, many tags, referrers). */
import { statusBytes } from '../lib/proc-stats.ts';
import { MiB } from '../lib/units.ts';
import { MarinaTarget } from '../targets/marina.ts';
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
    description: `Spawn (pinned) to the first 200 on GET /v2/, polled every 2 ms, with a store of ${store}; page cache warm. Marina twice: from its sources (as \`npm start\` runs it) and from its bytecode bundle (\`npm run build\`, built before the first round, not timed).`,
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
      {
        // The route to a fast start: Marina from its bytecode bundle (`npm run build`); the others as above.
        id: 'cold-start/bundle',
        title: `Cold start to first 200, Marina from its bytecode bundle (${store})`,
        unit: 'ms',
        higherIsBetter: false,
        rounds: profile.coldStart.rounds,
        selfWatched: true,
        async measure(target) {
          const marina = target instanceof MarinaTarget ? target : undefined;
          await target.stop();
          await marina?.useBundle(true);
          try {
            const ms = await target.start();
            return { value: ms, extra: { rssMiB: statusBytes(target.pid, 'VmRSS') / MiB } };
          } finally {
            // Every other case measures the server as `npm start` runs it: from the sources.
            if (marina) {
              await marina.useBundle(false);
              await target.stop();
              await target.start();
            }
          }
        },
      },
    ],
  };
}
