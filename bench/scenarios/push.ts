/** Blob pushes (monolithic POST+PUT and chunked 8 MiB PATCHes) and whole-image pushes from many clients. */
import { pushContent } from '../data/dataset.ts';
import { runChild } from '../lib/child.ts';
import { MiB, sizeId, sizeLabel } from '../lib/units.ts';
import type { PushLoad } from '../load/push-load.ts';
import type { LoadResult } from '../load/types.ts';
import type { Target } from '../targets/types.ts';
import { crossChecks } from './http-case.ts';
import type { Case, Sample, Scenario, ScenarioEnv } from './types.ts';

const PUSH_LOAD = new URL('../load/push-load.ts', import.meta.url).pathname;
/** Pushes up to this size are cross-checked (the fetch client builds bodies up to 256 MiB in memory, per client). */
const CROSS_CHECK_MAX_PUSH = 64 * MiB;

/** Runs the push client child process on the load cores. */
export async function runPush(env: ScenarioEnv, load: PushLoad): Promise<LoadResult> {
  const out = await runChild([process.execPath, PUSH_LOAD, JSON.stringify(load)], env.generators.cores, (load.capSec + 30) * 1000);
  const line = out.stdout.trim().split('\n').at(-1) ?? '';
  if (out.exitCode !== 0 || !line.startsWith('{')) throw new Error(`push client failed (exit ${out.exitCode}): ${out.stderr.trim()}`.slice(0, 400));
  return JSON.parse(line) as LoadResult;
}

/** The blob push of `size` bytes by client `i`: seed and digest. */
export function pushBlobs(size: number, clients: number): { seeds: string[]; digests: string[] } {
  const contents = Array.from({ length: clients }, (_, i) => pushContent(size, i));
  return { seeds: contents.map((c) => c.seed), digests: contents.map((c) => c.digest()) };
}

/** Monolithic and chunked blob pushes, as listed in the profile. */
export function blobPushScenario(env: ScenarioEnv): Scenario {
  const { profile } = env;
  const { chunkSize } = profile.push;
  const cases = profile.push.cases.map(({ mode, size, clients }): Case => {
    const blobs = () => pushBlobs(size, clients);
    let cached: ReturnType<typeof blobs> | undefined;
    const big = size >= 256 * MiB;
    return {
      id: `push/${mode}/${sizeId(size)}/c${clients}`,
      title: `Push ${mode === 'chunked' ? `chunked (${sizeLabel(chunkSize)} PATCHes)` : 'monolithic (POST+PUT)'} ${sizeLabel(size)}, ${clients} at once`,
      unit: 'MiB/s',
      higherIsBetter: true,
      rounds: big ? 1 : profile.heavyRounds,
      async measure(target: Target, round: number): Promise<Sample> {
        cached ??= blobs();
        const load: PushLoad = {
          baseUrl: target.baseUrl,
          headers: target.headers,
          mode,
          repo: env.data.repos.push,
          clients,
          // A big push is one per client; smaller ones repeat for the window.
          windowSec: big ? 1 : profile.push.windowSec,
          capSec: profile.scenarioCapSec,
          maxPerClient: big ? 1 : profile.push.maxPerClient,
          blob: { size, chunkSize, ...cached },
        };
        const result = await runPush(env, load);
        const sample: Sample = { value: result.bytes / MiB / result.seconds, load: result, extra: { pushesPerSec: result.requests / result.seconds } };
        // The cross-check pushes the same blobs again through Bun's fetch, once the first pushes are forgotten.
        if (crossChecks(env, round) && size <= CROSS_CHECK_MAX_PUSH) {
          target.forgetBlobs(cached.digests);
          const cross = await runPush(env, { ...load, transport: 'fetch' });
          sample.cross = { load: cross, value: cross.bytes / MiB / cross.seconds };
        }
        return sample;
      },
      async after(target: Target) {
        if (cached) target.forgetBlobs(cached.digests);
        // Write back what Distribution left unsynced now, not during the next target's measurement.
        await runChild(['sync'], '', 120_000);
      },
    };
  });
  return {
    id: 'push',
    title: 'Blob push',
    feature: 'push',
    description: `POST then one PUT with the whole body (monolithic), or POST, ${sizeLabel(chunkSize)} PATCHes with Content-Range and an empty PUT (chunked); throughput counts whole pushes.`,
    cases,
  };
}

/** Image pushes: per image HEAD + POST + PUT for a config and N layers, then the manifest PUT. */
export function imagePushScenario(env: ScenarioEnv): Scenario {
  const { profile } = env;
  const { clients, layers, layerSize, windowSec, maxPerClient } = profile.image;
  return {
    id: 'image-push',
    title: 'Image push',
    feature: 'image-push',
    description: `${clients} clients each pushing images (config + ${layers} × ${sizeLabel(layerSize)} layers + manifest) into their own repository, every blob new (HEAD 404, POST, PUT).`,
    cases: [
      {
        id: `image-push/${layers}x${sizeId(layerSize)}/c${clients}`,
        title: `Image push (config + ${layers} × ${sizeLabel(layerSize)} layers + manifest), ${clients} clients`,
        unit: 'images/s',
        higherIsBetter: true,
        rounds: profile.heavyRounds,
        async measure(target, round) {
          const load: PushLoad = {
            baseUrl: target.baseUrl,
            headers: target.headers,
            mode: 'image',
            repo: env.data.repos.images,
            clients,
            windowSec,
            capSec: profile.scenarioCapSec,
            maxPerClient,
            image: { layers, layerSize, nonce: `${target.id}-${round}-${Date.now()}` },
          };
          const result = await runPush(env, load);
          const sample: Sample = { value: result.requests / result.seconds, load: result, extra: { MiBps: result.bytes / MiB / result.seconds } };
          if (crossChecks(env, round)) {
            const cross = await runPush(env, { ...load, transport: 'fetch', image: { ...load.image!, nonce: `${load.image!.nonce}-x` } });
            sample.cross = { load: cross, value: cross.requests / cross.seconds };
          }
          return sample;
        },
      },
    ],
  };
}
