/**
 * The push side of the garbage-collection races: clients that re-push images whose old manifest was deleted,
 * reusing the old layers the way crane does (HEAD each blob, upload only what is missing, PUT the manifest), and
 * the check that every image a client was told is stored still pulls byte-exact. Works over any {@link Client}
 * transport (a real server or `registry.fetch`). Loops stop at a deadline.
 */
import { digestOf } from '../../src/oci/digest.ts';
import { bytesOf, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, randomBytes, type Client } from './client.ts';

/** An image a client was told is stored (201 on its manifest PUT). */
export interface Acknowledged {
  repository: string;
  tag: string;
  manifest: Uint8Array;
  blobs: Map<string, Uint8Array>;
}

/** What the pushing clients did. */
export interface RePushOutcome {
  acknowledged: Acknowledged[];
  /** Refused requests by "STEP status CODE" (a refusal is allowed; a loss of acknowledged content is not). */
  refusals: Map<string, number>;
  /**
   * Manifests refused as naming unknown blobs although every blob the client skipped had been found by a HEAD
   * less than the grace period before the refusal arrived: the grace period promises these succeed.
   */
  refusedWithinGrace: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `workers` clients until `until`. Each, per fresh repository: push an image, delete it by digest, wait about
 * the grace period (when its old links become candidates for collection), then push a new image with the same layers.
 */
export async function rePushUntil(client: Client, options: { until: number; workers: number; graceMs: number; prefix?: string }): Promise<RePushOutcome> {
  const outcome: RePushOutcome = { acknowledged: [], refusals: new Map(), refusedWithinGrace: 0 };
  const worker = async (id: number) => {
    for (let n = 0; Date.now() < options.until; n++) {
      const repository = `${options.prefix ?? 'race'}/w${id}-${n}`;
      const layers = [randomBytes(512 + Math.floor(Math.random() * 4096)), randomBytes(2048 + Math.floor(Math.random() * 8192)), randomBytes(1024 + Math.floor(Math.random() * 4096))];
      const old = await pushReusing(client, repository, 'old', layers, outcome, options.graceMs);
      if (!old) continue;
      const del = await client.delete(`/v2/${repository}/manifests/${digestOf(old.manifest)}`);
      if (del.status !== 202) throw new Error(`deleting ${repository}@${digestOf(old.manifest)} answered ${del.status}: ${await del.text()}`);
      await del.arrayBuffer();
      await sleep(options.graceMs * (0.5 + Math.random()));
      const again = await pushReusing(client, repository, 'new', layers, outcome, options.graceMs);
      if (again) outcome.acknowledged.push(again);
    }
  };
  await Promise.all(Array.from({ length: options.workers }, (_, i) => worker(i)));
  return outcome;
}

/** Every acknowledged image that no longer pulls completely and byte-exact, with what is wrong. */
export async function brokenImages(client: Client, acknowledged: Acknowledged[]): Promise<string[]> {
  const out: string[] = [];
  for (const image of acknowledged) {
    const broken: string[] = [];
    const res = await client.get(`/v2/${image.repository}/manifests/${image.tag}`, { accept: OCI_MANIFEST });
    const body = new Uint8Array(await res.arrayBuffer());
    if (res.status !== 200 || digestOf(body) !== digestOf(image.manifest)) {
      // By digest too: a lost tag and a lost manifest are different bugs.
      const byDigest = await client.get(`/v2/${image.repository}/manifests/${digestOf(image.manifest)}`, { accept: OCI_MANIFEST });
      await byDigest.arrayBuffer();
      broken.push(`manifest ${res.status} (by digest ${byDigest.status})`);
    }
    for (const [digest, bytes] of image.blobs) {
      const blob = await client.get(`/v2/${image.repository}/blobs/${digest}`);
      const got = new Uint8Array(await blob.arrayBuffer());
      if (blob.status !== 200 || got.byteLength !== bytes.byteLength || digestOf(got) !== digest) broken.push(`blob ${digest} ${blob.status}`);
    }
    if (broken.length) out.push(`${image.repository}:${image.tag}: ${broken.join(', ')}`);
  }
  return out;
}

/** HEAD each blob, upload the missing ones, PUT the manifest under `tag`; the acknowledged image or undefined. */
async function pushReusing(client: Client, repository: string, tag: string, layers: Uint8Array[], outcome: RePushOutcome, graceMs: number): Promise<Acknowledged | undefined> {
  const config = bytesOf({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: crypto.randomUUID() });
  const blobs = new Map<string, Uint8Array>([[digestOf(config), config], ...layers.map((l) => [digestOf(l), l] as [string, Uint8Array])]);
  let firstFound: number | undefined;
  for (const [digest, bytes] of blobs) {
    const asked = Date.now();
    const head = await client.head(`/v2/${repository}/blobs/${digest}`);
    if (head.status === 200) {
      firstFound ??= asked;
      continue;
    }
    const put = await client.send('POST', `/v2/${repository}/blobs/uploads/?digest=${digest}`, { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    if (put.status !== 201) {
      await refused(outcome, 'POST', put);
      return undefined;
    }
    await put.arrayBuffer();
  }
  // A client's own latency between its blob checks and its manifest PUT (crane uploads layers in parallel first).
  await sleep(Math.random() * 300);
  const manifest = bytesOf({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: digestOf(config), size: config.byteLength },
    layers: layers.map((l) => ({ mediaType: OCI_LAYER, digest: digestOf(l), size: l.byteLength })),
  });
  const res = await client.putManifest(repository, tag, manifest, OCI_MANIFEST);
  if (res.status !== 201) {
    const code = await refused(outcome, 'PUT', res);
    if (code === 'MANIFEST_BLOB_UNKNOWN' && firstFound !== undefined && Date.now() - firstFound < graceMs) outcome.refusedWithinGrace++;
    return undefined;
  }
  await res.arrayBuffer();
  return { repository, tag, manifest, blobs };
}

/** Counts a refusal; returns its error code. */
async function refused(outcome: RePushOutcome, step: string, res: Response): Promise<string> {
  const code = /"code":"([A-Z_]+)"/.exec(await res.text())?.[1] ?? '';
  const key = `${step} ${res.status} ${code}`;
  outcome.refusals.set(key, (outcome.refusals.get(key) ?? 0) + 1);
  return code;
}
