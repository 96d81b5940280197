/**
 * A real SeaweedFS (`weed server` with filer and S3 gateway) on loopback for the S3 tests: free ports, a temporary
 * data directory, one access key, every wait bounded. `.ci/install-tools.sh s3` builds the binary.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Subprocess } from 'bun';
import { signRequest, EMPTY_SHA256 } from '../../src/storage/s3-sigv4.ts';
import { TOOL_PATH } from './commands.ts';
import { freePort } from './process.ts';

/** A running SeaweedFS with its S3 endpoint. */
export interface SeaweedFs {
  /** `http://127.0.0.1:<s3 port>` */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Creates a bucket (PUT /<bucket>). */
  createBucket(name: string): Promise<void>;
  /** Everything weed wrote so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** The `weed` binary; fails with the install command when it is missing (tests never skip). */
export function weedBinary(): string {
  const found = Bun.which('weed', { PATH: TOOL_PATH });
  if (!found) throw new Error(`SeaweedFS 'weed' is not installed (searched ${TOOL_PATH}); run: bash .ci/install-tools.sh s3`);
  return found;
}

/** Options of {@link startSeaweedFs}. */
export interface SeaweedFsOptions {
  /** Bound on the start-up wait. @default 90000 */
  timeoutMs?: number;
  /**
   * Volumes (of 64 MB each) the volume server may create; by default as many as the free disk holds. A small
   * number makes a store that fills up (and then answers writes with S3 InternalError).
   */
  maxVolumes?: number;
}

/**
 * Volume size. SeaweedFS keeps deleted bytes in their volume until a vacuum compacts it (its sweep runs every
 * 14 minutes and, in a run of a minute or two, reclaims nothing), so the store needs room for everything a test or
 * benchmark writes: each 64 MiB push writes its parts and a copy, then deletes its staging object. With a fixed
 * count of 16 volumes (1 GiB) back-to-back 64 MiB pushes filled every volume within seconds and SeaweedFS refused
 * every write ("No writable volumes and no free volumes left"); the count now follows the free disk.
 */
const VOLUME_SIZE_MB = 64;

/** Starts `weed server -filer -s3` on free loopback ports and waits (bounded) until its S3 gateway answers. */
export async function startSeaweedFs(options: SeaweedFsOptions = {}): Promise<SeaweedFs> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const weed = weedBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-seaweedfs-'));
  const accessKeyId = 'marinatest';
  const secretAccessKey = `secret-${crypto.randomUUID()}`;
  const s3Config = path.join(dir, 's3.json');
  fs.writeFileSync(s3Config, JSON.stringify({
    identities: [{ name: 'marina', credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }], actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'] }],
  }));
  const ports = await distinctFreePorts(8);
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = ports as [number, number, number, number, number, number, number, number];
  fs.mkdirSync(path.join(dir, 'data'));
  const args = [
    'server', `-dir=${path.join(dir, 'data')}`, '-ip=127.0.0.1', '-ip.bind=127.0.0.1',
    `-master.port=${master}`, `-master.port.grpc=${masterGrpc}`, `-master.volumeSizeLimitMB=${VOLUME_SIZE_MB}`, '-master.telemetry=false',
    // 0: as many volumes as the free disk holds (SeaweedFS keeps 1% free and then turns read-only).
    `-volume.port=${volume}`, `-volume.port.grpc=${volumeGrpc}`, `-volume.max=${options.maxVolumes ?? 0}`,
    '-filer', `-filer.port=${filer}`, `-filer.port.grpc=${filerGrpc}`, `-filer.localSocket=${path.join(dir, 'filer.sock')}`,
    '-s3', `-s3.port=${s3}`, `-s3.port.grpc=${s3Grpc}`, `-s3.config=${s3Config}`, '-s3.port.iceberg=0', '-s3.port.lance=0',
    `-s3.localSocket=${path.join(dir, 's3.sock')}`,
  ];
  const proc: Subprocess<'ignore', 'pipe', 'pipe'> = Bun.spawn([weed, ...args], { cwd: dir, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  let text = '';
  const decoder = new TextDecoder();
  for (const stream of [proc.stdout, proc.stderr]) {
    void (async () => {
      for await (const chunk of stream) text = (text + decoder.decode(chunk, { stream: true })).slice(-200_000);
    })();
  }
  const endpoint = `http://127.0.0.1:${s3}`;
  const region = 'us-east-1';
  const signed = async (method: string, url: string) => {
    const u = new URL(url);
    const headers = signRequest({ accessKeyId, secretAccessKey, region }, method, u, {}, EMPTY_SHA256);
    delete headers.host;
    return fetch(u, { method, headers, signal: AbortSignal.timeout(10_000) });
  };
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await proc.exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    // `weed server` puts its gRPC unix sockets in /tmp whatever -dir says, and leaves them behind.
    for (const [name, port] of [['master', masterGrpc], ['volume', volumeGrpc], ['filer', filerGrpc], ['s3', s3Grpc]] as const) {
      fs.rmSync(`/tmp/seaweedfs-${name}-grpc-${port}.sock`, { force: true });
    }
  };
  const createBucket = async (name: string) => {
    // Right after start the filer may not have a volume yet: retry briefly.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await signed('PUT', `${endpoint}/${name}`).catch((e: Error) => e);
      if (!(res instanceof Error)) {
        const body = await res.text();
        if (res.ok || body.includes('BucketAlreadyOwnedByYou')) return;
        if (Date.now() > deadline) throw new Error(`creating bucket ${name}: ${res.status} ${body}`);
      } else if (Date.now() > deadline) throw res;
      await Bun.sleep(250);
    }
  };

  // Ready when the S3 gateway answers a signed ListBuckets with 200 (it starts after master, volume and filer).
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      await stop();
      throw new Error(`weed exited (${proc.exitCode ?? proc.signalCode}) before its S3 gateway answered:\n${text.slice(-4000)}`);
    }
    const res = await signed('GET', `${endpoint}/`).catch(() => undefined);
    if (res) {
      await res.body?.cancel();
      if (res.status === 200) break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`weed S3 gateway did not answer within ${timeoutMs} ms:\n${text.slice(-4000)}`);
    }
    await Bun.sleep(250);
  }
  return { endpoint, accessKeyId, secretAccessKey, region, createBucket, log: () => text, stop };
}

/** `n` different free loopback ports. */
async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}
