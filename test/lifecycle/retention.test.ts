/** Retention through the library: 200 tags pushed over simulated time, a rule set, dry run, real run, GC. */
import { afterEach, describe, expect, test } from 'bun:test';
import { openRegistry, type TestRegistry } from '../helpers/registry.ts';
import type { RetentionRule } from '../../src/lifecycle/rules.ts';
import { buildCiScenario, CI_RULES, DAY, HOUR, pullCompletely, pushImage, pushIndex, type Pushed } from './support.ts';

let t: TestRegistry | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const START = Date.UTC(2026, 0, 1);
const RULES: RetentionRule[] = CI_RULES;

/** The 200-tag scenario on a fresh registry with the simulated clock. */
async function build(clock: { now: number }) {
  t = openRegistry({ clock: () => clock.now, retention: RULES });
  return buildCiScenario(t.registry, clock, START);
}

/** Bytes of blobs referenced by gone manifests and by no kept one. */
function expectedFreed(kept: Pushed[], gone: Pushed[]): number {
  const keptBlobs = new Set(kept.flatMap((p) => [...p.blobs.keys()]));
  const freed = new Map<string, number>();
  for (const p of gone) for (const [digest, size] of p.blobs) if (!keptBlobs.has(digest)) freed.set(digest, size);
  return [...freed.values()].reduce((a, b) => a + b, 0);
}

describe('retention', () => {
  test('a dry run lists exactly what the real run deletes, kept images still pull, and GC frees the predicted bytes', async () => {
    const clock = { now: START };
    const { registry, kept, gone, goneTags, keptTags, images } = await build(clock);
    clock.now += HOUR;

    const dry = await registry.runRetention({ dryRun: true });
    expect(dry.items.filter((i) => i.kind === 'tag').map((i) => i.reference).sort()).toEqual([...goneTags].sort());
    expect(dry.items.filter((i) => i.kind === 'manifest').map((i) => i.digest as string).sort()).toEqual(gone.map((p) => p.digest).sort());
    const freed = expectedFreed(kept, gone);
    expect(freed).toBeGreaterThan(0);
    expect(dry.freedBytes).toBe(freed);
    // A dry run deletes nothing.
    expect((await registry.listTags('ci/app')).items).toHaveLength(goneTags.length + keptTags.length);

    const deletes: string[] = [];
    const real = await registry.runRetention({ onProgress: (m) => m.startsWith('deleted') && deletes.push(m) });
    expect(real.items.map((i) => `${i.kind} ${i.reference}`)).toEqual(dry.items.map((i) => `${i.kind} ${i.reference}`));
    expect(real.freedBytes).toBe(freed);
    expect(deletes).toHaveLength(real.items.length);

    expect((await registry.listTags('ci/app')).items.sort()).toEqual([...keptTags].sort());
    for (const tag of keptTags) expect(await pullCompletely(registry, 'ci/app', tag)).toBeGreaterThan(0);
    for (const p of kept) expect((await registry.getManifest(p === kept.at(-1) ? 'other/app' : 'ci/app', p.digest)).digest as string).toBe(p.digest);
    for (const p of gone) await expect(registry.getManifest('ci/app', p.digest)).rejects.toThrow();
    // The signature of a kept image stays; the signature of a deleted one went with it.
    expect((await registry.listReferrers('ci/app', images[199]!.digest)).manifests).toHaveLength(1);
    expect((await registry.listReferrers('ci/app', images[0]!.digest)).manifests).toHaveLength(0);

    const gc = await registry.collectGarbage({ graceMs: 0 });
    expect(gc.freedBytes).toBe(freed);
    for (const tag of keptTags) await pullCompletely(registry, 'ci/app', tag);
    await pullCompletely(registry, 'other/app', 'v1');
    // A second run finds nothing more to do.
    expect((await registry.runRetention({ dryRun: true })).items).toHaveLength(0);
  });

  test('every deletion emits the usual delete event', async () => {
    const clock = { now: START };
    const events: string[] = [];
    t = openRegistry({ clock: () => clock.now, retention: [{ repositories: 'ci/*', keepNewest: 1 }], events: { onDelete: (e) => void events.push(`${e.kind} ${e.reference}`) } });
    const a = await pushImage(t.registry, 'ci/x', 'a', ['one']);
    clock.now += HOUR;
    await pushImage(t.registry, 'ci/x', 'b', ['two']);
    await pushImage(t.registry, 'unruled', 'a', ['three']);
    const report = await t.registry.runRetention();
    expect(events).toEqual(['tag a', `manifest ${a.digest}`]);
    expect(report).toMatchObject({ repositories: 1, tags: 1, manifests: 1 });
    expect((await t.registry.listTags('unruled')).items).toEqual(['a']);
  });

  test('mirrored repositories are left to the mirror, whatever the globs say', async () => {
    t = openRegistry({ retention: [{ repositories: '**', keepNewest: 0 }], mirror: { upstreams: [{ name: 'up.test', url: 'http://127.0.0.1:9' }] } });
    await pushImage(t.registry, 'up.test/library/alpine', 'v1', ['cached layer']);
    await pushImage(t.registry, 'local/app', 'v1', ['local layer']);
    const report = await t.registry.runRetention();
    expect(report).toMatchObject({ repositories: 1, tags: 1 });
    expect((await t.registry.listTags('up.test/library/alpine')).items).toEqual(['v1']);
  });

  test('pushes acknowledged while retention runs are never undone', async () => {
    const clock = { now: START };
    t = openRegistry({ clock: () => clock.now, retention: [{ repositories: 'ci/**', deleteTagsOlderThanMs: 2 * DAY, deleteUntaggedOlderThanMs: DAY }] });
    const { registry } = t;
    const old: Pushed[] = [];
    for (let i = 0; i < 60; i++) {
      clock.now = START + i * HOUR;
      old.push(await pushImage(registry, 'ci/app', `old-${i}`, ['base', `old ${i}`]));
    }
    clock.now = START + 10 * DAY;
    const acknowledged = new Map<string, string>();
    const push = async (tag: string, make: () => Promise<Pushed>) => {
      const pushed = await make();
      acknowledged.set(tag, pushed.digest);
    };
    const pushes = [
      ...Array.from({ length: 15 }, (_, i) => push(`new-${i}`, () => pushImage(registry, 'ci/app', `new-${i}`, ['base', `new ${i}`]))),
      // A doomed tag moved to a new image, and an old (doomed) manifest adopted by a new index.
      push('old-0', () => pushImage(registry, 'ci/app', 'old-0', ['base', 'old 0 rebuilt'])),
      push('adopt', () => pushIndex(registry, 'ci/app', 'adopt', [old[1]!])),
    ];
    const [report, ...outcomes] = await Promise.all([registry.runRetention(), ...pushes.map((p) => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e)))]);
    // The index push may lose the race for its child (then it was refused, not acknowledged).
    expect(outcomes.filter((o) => o !== 'ok').every((o) => o === 'MANIFEST_BLOB_UNKNOWN')).toBe(true);
    expect(acknowledged.size).toBeGreaterThanOrEqual(16);
    expect(report.tags).toBeGreaterThan(40);
    for (const [tag, digest] of acknowledged) {
      expect((await registry.getManifest("ci/app", tag)).digest as string).toBe(digest);
      await pullCompletely(registry, 'ci/app', tag);
    }
  });
});
