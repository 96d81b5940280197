/**
 * `marina gc` in a second process, back to back, beside a live server while clients re-push images whose old
 * manifest was deleted, reusing the old layers the way crane does (HEAD each blob, upload only what is missing, PUT
 * the manifest). Afterwards every acknowledged tag must pull completely and byte-exact, and no manifest that came
 * within the grace period after the HEADs that found its blobs may have been refused. Everything is bounded in
 * time; the numbers are printed so a run can be compared with another.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { Client } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { brokenImages, rePushUntil } from '../helpers/repush-race.ts';
import { runCli, startServer, type ServerProcess } from '../helpers/server.ts';

const GRACE_S = 1;
const RACE_MS = 20_000;
const WORKERS = 16;

let dir: string;
let server: ServerProcess;
let client: Client;

beforeAll(async () => {
  dir = tempDir('marina-gc-race-');
  // Access lines, so a failure can show what the server answered for a broken repository.
  server = await startServer(dir, ['--access-log']);
  client = new Client((request) => fetch(request), server.url);
});

afterAll(async () => {
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('marina gc in a second process beside a live server', () => {
  test('loses no acknowledged tag while clients re-push deleted images that reuse their old layers', async () => {
    const until = Date.now() + RACE_MS;
    const gcRuns = { ok: 0, failed: 0, removedLinks: 0, removedFiles: 0 };
    const gcLines: string[] = [];
    const collect = async () => {
      while (Date.now() < until) {
        const run = await runCli(['gc', '--data', dir, '--grace', String(GRACE_S)], {}, 30_000);
        if (run.code !== 0) {
          gcRuns.failed++;
          console.error(run.stderr);
          continue;
        }
        gcRuns.ok++;
        const at = new Date().toISOString();
        for (const line of run.stdout.split('\n')) if (line.startsWith('  ')) gcLines.push(`${at} gc${line}`);
        const m = /; (\d+) links and (\d+) blobs/.exec(run.stdout);
        gcRuns.removedLinks += Number(m?.[1] ?? 0);
        gcRuns.removedFiles += Number(m?.[2] ?? 0);
      }
    };
    // Two collectors, as when one cron run overlaps the next: they race each other as well as the pushes.
    const [{ acknowledged, refusals, refusedWithinGrace }] = await Promise.all([rePushUntil(client, { until, workers: WORKERS, graceMs: GRACE_S * 1000 }), collect(), collect()]);

    const broken = await brokenImages(client, acknowledged);
    // A collection after the pushes stopped (and past the grace) must keep every acknowledged image too.
    await sleep(GRACE_S * 1000 + 1100);
    const final = await runCli(['gc', '--data', dir, '--grace', String(GRACE_S)], {}, 30_000);
    expect(final.code).toBe(0);
    const brokenAfterFinal = await brokenImages(client, acknowledged);
    console.log(
      `gc race: ${acknowledged.length} acknowledged tags, ${broken.length} broken during the race, ${brokenAfterFinal.length} after a final gc; ` +
        `refused ${JSON.stringify(Object.fromEntries(refusals))} (${refusedWithinGrace} within the grace of their HEADs); gc ran ${gcRuns.ok} times (${gcRuns.failed} failed), removed ${gcRuns.removedLinks} links and ${gcRuns.removedFiles} files`,
    );
    if (broken.length || brokenAfterFinal.length) console.error(trace([...broken, ...brokenAfterFinal], gcLines));
    expect(gcRuns.failed).toBe(0);
    expect(gcRuns.ok).toBeGreaterThan(3);
    expect(gcRuns.removedLinks).toBeGreaterThan(0);
    expect(acknowledged.length).toBeGreaterThan(30);
    expect(broken.slice(0, 10)).toEqual([]);
    expect(brokenAfterFinal.slice(0, 10)).toEqual([]);
    // A HEAD restarts a link's grace period: a manifest that arrives within it after the HEADs that found its blobs
    // may not be refused for them.
    expect(refusedWithinGrace).toBe(0);
  }, 120_000);
});

/**
 * What the server answered for the first broken repositories (access lines) and what the collectors saw and
 * removed there, so one failing run says whether the manifest was refused, lost after its 201, or deleted.
 */
function trace(broken: string[], gcLines: string[]): string {
  const repositories = [...new Set(broken.map((b) => b.slice(0, b.indexOf(':'))))].slice(0, 3);
  const log = server.stderr().split('\n');
  return repositories
    .map((repository) => {
      const served = log.filter((l) => l.includes(`path=/v2/${repository}/`));
      const digests = broken.filter((b) => b.startsWith(`${repository}:`)).flatMap((b) => b.match(/sha256:[0-9a-f]{64}/g) ?? []);
      const collected = gcLines.filter((l) => l.includes(` ${repository}: `) || digests.some((d) => l.includes(d)));
      return [`--- ${repository}: server access lines`, ...served, `--- ${repository}: what the collectors saw (time each gc run ended)`, ...collected].join('\n');
    })
    .join('\n');
}
