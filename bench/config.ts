/**
 * The two run profiles. `full` is the matrix, cut to fit 40 minutes on 2 cores; `quick` is the CI smoke
 * test (< 3 min): the same scenarios with small sizes and counts, one round each.
 */
import { GiB, KiB, MiB } from './lib/units.ts';

/** One blob-push case: how, how big, how many clients at once. */
export interface PushCase {
  mode: 'monolithic' | 'chunked';
  size: number;
  clients: number;
}

/** Every push mode at every size and client count. */
export const pushMatrix = (sizes: number[], clients: number[]): PushCase[] =>
  sizes.flatMap((size) => clients.flatMap((c) => (['monolithic', 'chunked'] as const).map((mode) => ({ mode, size, clients: c }))));

/** Where servers and load generators run: pinned to separate cores, or free to use every core as users run them. */
export type Placement = 'pinned' | 'unpinned';

/** Everything that differs between a quick and a full run. */
export interface Profile {
  name: 'quick' | 'full';
  /** Hard cap on the whole run; scenarios still pending when it is reached are skipped and reported as such. */
  budgetSec: number;
  /** Cap on one scenario (all its cases, rounds and targets). */
  scenarioCapSec: number;
  /** Rounds (A B A B …) for cheap measurements. */
  rounds: number;
  /** Rounds for measurements that move gigabytes. */
  heavyRounds: number;
  /** Load window of request-rate measurements, whole seconds (wrk's unit). */
  windowSec: number;
  /** Load window of bandwidth measurements. */
  bigWindowSec: number;
  /** Unmeasured load before each case, per target, to warm JITs and caches. */
  warmupSec: number;
  /** Measure every HTTP figure with a second generator too and fail the case when they disagree by > 25%. */
  crossCheck: boolean;
  /** Rounds (from the first) in which the second generator measures too: every case and target is cross-checked once. */
  crossCheckRounds: number;
  /** Targets measured unless `--targets` names others. */
  targets: string[];
  /** Case ids left out of the matrix (redundant with their neighbours; `--all-cases` puts them back). */
  skipCases: string[];
  /**
   * The unpinned placement measures only these targets and cases (case ids, or scenario ids for all their cases):
   * the comparison with Distribution v3 when every server may use both cores. The ratios to the Bun limits are
   * read in the pinned placement.
   */
  unpinned: { targets: string[]; cases: string[] };
  /** Server placements to measure: pinned (server on one core, load on the other) and/or unpinned (both free). */
  placements: Placement[];
  blobGet: { sizes: number[]; concurrency: number[] };
  range: { length: number; blobSize: number; concurrency: number };
  manifest: { connections: number };
  /** Blob pushes, in the order run (the heaviest last, where the caps cut first). */
  push: { cases: PushCase[]; chunkSize: number; windowSec: number; maxPerClient: number };
  image: { clients: number; layers: number; layerSize: number; windowSec: number; maxPerClient: number };
  tags: { count: number; pageSize: number; connections: number };
  referrers: { count: number; connections: number };
  coldStart: { bulkBlobs: number; rounds: number };
  /** Concurrent pushes and pulls of big blobs, stopped after `windowSec`: peak server memory under load. */
  mixed: { size: number; pushers: number; pullers: number; windowSec: number };
  limits: { hashBytes: number; diskBytes: number; repeats: number };
  /**
   * Scale-out cases, always unpinned (bench/scale-out/): manifest GET and 1 KiB blob GET (at `connections`) and,
   * with `imagePush`, image pushes on Marina with one process vs `--workers N` vs Distribution v3; with `s3`, blob
   * GETs and pushes on Marina with S3 blobs (a SeaweedFS started by the harness, on the same cores) vs the filesystem.
   */
  scaleOut: {
    workers: number;
    connections: number;
    imagePush: boolean;
    s3?: { blobGet: { sizes: number[]; concurrency: number[] }; push: PushCase[] };
  };
}

/** The full matrix. */
// Windows of 5 s after a 1 s warm-up (1 s windows gave ±78–134% spreads on a shared machine). What keeps it within
// 40 minutes on 2 cores (it took about 2 h with 3 rounds, every round cross-checked, Distribution 2.8, 64 MiB GETs,
// 8 × 1 GiB pushes and every case unpinned too): 2 rounds, the second generator in the first round only (every
// figure is still cross-checked), Distribution v3 as the peer (2.8 with `--targets marina,dist2,dist3,limit`),
// 1 KiB / 1 MiB / 1 GiB GETs (64 MiB sits between 1 MiB and 1 GiB on every target), no 64-client GET of 1 GiB (16
// already saturate), 1 GiB pushes by one client (8 × 1 GiB at once is the memory case), and an unpinned placement
// of Marina and v3 on one case per shape. The budget is a hard stop: anything it cuts is reported as skipped.
export const FULL: Profile = {
  name: 'full',
  budgetSec: 40 * 60,
  scenarioCapSec: 900,
  rounds: 2,
  heavyRounds: 2,
  windowSec: 5,
  bigWindowSec: 5,
  warmupSec: 1,
  crossCheck: true,
  crossCheckRounds: 1,
  targets: ['marina', 'dist3', 'limit'],
  skipCases: ['blob-get/1g/c64'],
  unpinned: {
    targets: ['marina', 'dist3'],
    cases: ['blob-get/1k/c16', 'blob-get/1m/c16', 'blob-get/1g/c16', 'manifest', 'range', 'tags', 'referrers', 'image-push', 'push/monolithic/64m/c8'],
  },
  placements: ['pinned', 'unpinned'],
  blobGet: { sizes: [1 * KiB, 1 * MiB, 1 * GiB], concurrency: [1, 16, 64] },
  range: { length: 1 * MiB, blobSize: 1 * GiB, concurrency: 16 },
  manifest: { connections: 64 },
  push: { cases: [...pushMatrix([64 * MiB], [1, 8]), ...pushMatrix([1 * GiB], [1])], chunkSize: 8 * MiB, windowSec: 5, maxPerClient: 40 },
  image: { clients: 16, layers: 5, layerSize: 256 * KiB, windowSec: 5, maxPerClient: 1000 },
  tags: { count: 10_000, pageSize: 1000, connections: 16 },
  referrers: { count: 1000, connections: 16 },
  coldStart: { bulkBlobs: 100_000, rounds: 5 },
  mixed: { size: 1 * GiB, pushers: 8, pullers: 8, windowSec: 6 },
  limits: { hashBytes: 256 * MiB, diskBytes: 512 * MiB, repeats: 3 },
  scaleOut: {
    workers: 2,
    connections: 64,
    imagePush: true,
    s3: { blobGet: { sizes: [1 * KiB, 1 * MiB], concurrency: [1, 16] }, push: pushMatrix([64 * MiB], [1, 4]) },
  },
};

/** The S3 cases at quick sizes, for `bun bench/run.ts --quick --s3` (SeaweedFS start-up alone takes ~10 s). */
export const QUICK_S3: NonNullable<Profile['scaleOut']['s3']> = { blobGet: { sizes: [16 * MiB], concurrency: [1] }, push: pushMatrix([16 * MiB], [1]) };

/** The CI smoke test: every scenario end to end, small. */
export const QUICK: Profile = {
  name: 'quick',
  // 170 s for the matrix, about 25 s more for the scale-out smoke (one process vs --workers 2 vs Distribution v3).
  budgetSec: 200,
  scenarioCapSec: 40,
  rounds: 1,
  heavyRounds: 1,
  windowSec: 1,
  bigWindowSec: 1,
  warmupSec: 0.2,
  crossCheck: true,
  crossCheckRounds: 1,
  targets: ['marina', 'dist2', 'dist3', 'limit'],
  skipCases: [],
  unpinned: { targets: ['marina', 'dist3'], cases: ['blob-get', 'manifest', 'image-push'] },
  placements: ['pinned'],
  blobGet: { sizes: [1 * KiB, 16 * MiB], concurrency: [1, 16] },
  range: { length: 1 * MiB, blobSize: 16 * MiB, concurrency: 4 },
  manifest: { connections: 16 },
  push: { cases: pushMatrix([16 * MiB], [2]), chunkSize: 8 * MiB, windowSec: 1, maxPerClient: 2 },
  image: { clients: 4, layers: 5, layerSize: 16 * KiB, windowSec: 1, maxPerClient: 20 },
  tags: { count: 500, pageSize: 100, connections: 4 },
  referrers: { count: 100, connections: 4 },
  coldStart: { bulkBlobs: 2000, rounds: 2 },
  mixed: { size: 16 * MiB, pushers: 2, pullers: 2, windowSec: 2 },
  limits: { hashBytes: 64 * MiB, diskBytes: 64 * MiB, repeats: 1 },
  // A smoke of the worker cases only (about 10 s); the S3 cases need SeaweedFS and stay in the full run.
  scaleOut: { workers: 2, connections: 16, imagePush: false },
};
