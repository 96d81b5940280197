/** N concurrent clients pulling the image: manifest by tag, then the layer by digest, hashed in full. */
import { OCI_MANIFEST, TAG } from './image.ts';

/** The outcome of one round of N clients. */
export interface PullRound {
  /** Wall time from the start until the last client finished. */
  ms: number;
  failures: number;
  /** The first failure's message, if any. */
  firstError?: string;
  /** Each successful client: when it sent its layer GET and when the layer's first byte arrived (`performance.now()`). */
  layerTimes: LayerTimes[];
}

/** When one client asked for the layer and when its first byte arrived (`performance.now()`). */
export interface LayerTimes {
  requestAt: number;
  firstByteAt: number;
}

/** Runs `clients` concurrent pulls of `<base>/v2/<repository>` and checks every layer's sha256. */
export async function pullRound(base: string, repository: string, clients: number, layerDigest: string, timeoutMs: number): Promise<PullRound> {
  const t0 = performance.now();
  const results = await Promise.allSettled(Array.from({ length: clients }, () => pullOnce(base, repository, layerDigest, timeoutMs)));
  const ms = performance.now() - t0;
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  const firstError = failed[0] ? String(failed[0].reason instanceof Error ? failed[0].reason.message : failed[0].reason) : undefined;
  const layerTimes = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  return { ms, failures: failed.length, firstError, layerTimes };
}

/** One pull; resolves with when the layer was asked for and when its first byte arrived. */
async function pullOnce(base: string, repository: string, layerDigest: string, timeoutMs: number): Promise<LayerTimes> {
  const signal = AbortSignal.timeout(timeoutMs);
  const res = await fetch(`${base}/v2/${repository}/manifests/${TAG}`, { headers: { Accept: OCI_MANIFEST }, signal });
  if (res.status !== 200) throw new Error(`manifest: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  const manifest = (await res.json()) as { layers?: { digest?: string }[] };
  const digest = manifest.layers?.[0]?.digest;
  if (digest !== layerDigest) throw new Error(`manifest names layer ${digest}, expected ${layerDigest}`);
  const requestAt = performance.now();
  const blob = await fetch(`${base}/v2/${repository}/blobs/${digest}`, { signal });
  if (blob.status !== 200 || !blob.body) throw new Error(`blob: HTTP ${blob.status} ${(await blob.text()).slice(0, 200)}`);
  const hasher = new Bun.CryptoHasher('sha256');
  let firstByteAt: number | undefined;
  for await (const chunk of blob.body) {
    firstByteAt ??= performance.now();
    hasher.update(chunk);
  }
  const got = `sha256:${hasher.digest('hex')}`;
  if (got !== layerDigest) throw new Error(`blob hashed to ${got}`);
  return { requestAt, firstByteAt: firstByteAt ?? performance.now() };
}
