/**
 * SIGKILL and restart, several times, while four clients push images (fsync on): afterwards every acknowledged
 * tag (its manifest PUT got 201) and every listed tag pulls completely and byte-exact, and `marina fsck` is clean.
 */
import { afterAll, expect, test } from 'bun:test';
import { digestOf } from '../../src/oci/digest.ts';
import type { Client } from '../helpers/client.ts';
import { randomBytes } from '../helpers/client.ts';
import { clientOf, expectConsistent, FaultBed, kill, listTags, makeImage, pushImage, statusOf, verifyPull, type ImageParts } from './support.ts';

const bed = new FaultBed();
afterAll(() => bed.cleanup());

const CLIENTS = 4;
const RESTARTS = 3;

/** Pushes a layer as a chunked upload (POST, two PATCHes, PUT), so kills also land between chunks. */
async function pushChunked(c: Client, repo: string, blob: Uint8Array): Promise<number | 'error'> {
  const post = await c.send('POST', `/v2/${repo}/blobs/uploads/`).catch(() => undefined);
  if (!post || post.status !== 202) return 'error';
  let location = post.headers.get('location')!;
  const half = blob.byteLength >> 1;
  for (const [start, end] of [[0, half], [half, blob.byteLength]] as const) {
    const res = await c
      .send('PATCH', location, { body: blob.subarray(start, end), headers: { 'content-range': `${start}-${end - 1}` } })
      .catch(() => undefined);
    if (!res || res.status !== 202) return 'error';
    location = res.headers.get('location') ?? location;
  }
  return statusOf(c, 'PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digestOf(blob)}`);
}

test('every tag acknowledged or listed pulls byte-exact after repeated SIGKILLs under four pushing clients', async () => {
  const root = bed.dir();
  let server = await bed.serve(root);
  const shared = randomBytes(32 * 1024);
  const acknowledged: { repo: string; tag: string; image: ImageParts }[] = [];
  let stopping = false;
  let generation = 0;

  async function clientLoop(id: number): Promise<void> {
    const repo = `load/c${id}`;
    for (let n = 0; !stopping; n++) {
      const c = clientOf(server);
      const seenGeneration = generation;
      const unique = randomBytes(16 * 1024 + Math.floor(Math.random() * 64 * 1024));
      const image = makeImage([shared, unique]);
      const tag = `t${n}`;
      // Half of the images send their unique layer in chunks first (the later monolithic POST then finds it).
      const chunked = n % 2 === 0 ? await pushChunked(c, repo, unique) : 201;
      const status = chunked === 201 ? await pushImage(c, repo, tag, image) : chunked;
      if (status === 201) acknowledged.push({ repo, tag, image });
      else if (status === 'error') {
        // The server is down: wait (bounded) for the next one.
        for (const deadline = Date.now() + 10_000; generation === seenGeneration && !stopping && Date.now() < deadline; ) await Bun.sleep(20);
      } else throw new Error(`unexpected status ${status} from a live server`);
    }
  }

  const loops = Array.from({ length: CLIENTS }, (_, i) => clientLoop(i));
  for (let round = 0; round < RESTARTS; round++) {
    await Bun.sleep(400 + Math.floor(Math.random() * 600));
    await kill(server);
    await expectConsistent(root);
    server = await bed.serve(root);
    generation++;
  }
  await Bun.sleep(500);
  stopping = true;
  await Promise.all(loops);
  await kill(server);
  await expectConsistent(root);

  server = await bed.serve(root);
  const c = clientOf(server);
  expect(acknowledged.length).toBeGreaterThan(CLIENTS);
  const problems: string[] = [];
  for (const { repo, tag, image } of acknowledged) {
    const head = await c.head(`/v2/${repo}/manifests/${tag}`);
    if (head.headers.get('docker-content-digest') !== image.digest) problems.push(`${repo}:${tag} does not resolve to its acknowledged manifest`);
    problems.push(...(await verifyPull(c, repo, tag)));
  }
  for (let id = 0; id < CLIENTS; id++) {
    for (const tag of await listTags(c, `load/c${id}`)) problems.push(...(await verifyPull(c, `load/c${id}`, tag)));
  }
  expect(problems).toEqual([]);
  if (process.env.MARINA_TEST_VERBOSE) console.log(`${acknowledged.length} acknowledged pushes across ${RESTARTS} SIGKILLs`);
  await kill(server);
}, 60_000);
