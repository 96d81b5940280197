/**
 * Writes the 200-tag retention scenario (see buildCiScenario) into a data directory, with push times ending an hour
 * ago, plus a `marina.json` holding the same rules, for trying the CLI by hand:
 *
 *   bun test/lifecycle/make-retention-data.ts /tmp/retention-demo
 *   bun src/cli/main.ts retention run --dry-run --data /tmp/retention-demo/data --config /tmp/retention-demo/marina.json
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openRegistry } from '../helpers/registry.ts';
import { buildCiScenario, HOUR } from './support.ts';

const out = process.argv[2];
if (!out) throw new Error('usage: bun test/lifecycle/make-retention-data.ts <dir>');
const data = path.join(out, 'data');
fs.mkdirSync(data, { recursive: true });
const clock = { now: 0 };
const t = openRegistry({ clock: () => clock.now }, data);
const start = Date.now() - HOUR - 199 * 6 * HOUR;
const { kept, gone, goneTags, keptTags } = await buildCiScenario(t.registry, clock, start);
await t.close({ keepData: true });
fs.writeFileSync(
  path.join(out, 'marina.json'),
  JSON.stringify({ retention: [{ repositories: 'ci/**', keepNewest: 20, keepTags: ['v*', 'main', 'latest'], deleteTagsOlderThan: '3d', deleteUntaggedOlderThan: '1d' }] }, null, 2),
);
console.log(`${data}: ${keptTags.length + goneTags.length} tags; the rules keep ${keptTags.length} tags and ${kept.length} manifests, delete ${goneTags.length} tags and ${gone.length} manifests`);
