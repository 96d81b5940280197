/**
 * Shared by the fault suite: servers that are killed and restarted on one data directory, pushes that record what
 * was acknowledged (and survive a dying server), byte-exact pulls, and `marina fsck` as the consistency check.
 */
import { expect } from 'bun:test';
import * as fs from 'node:fs';
import { digestOf, type Digest } from '../../src/oci/digest.ts';
import { bytesOf, Client, descriptorOf, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, randomBytes } from '../helpers/client.ts';
import { tempDir } from '../helpers/registry.ts';
import { runCli, startServer, type ServerProcess, type StartOptions } from '../helpers/server.ts';

/** Data directories and servers of one test file, cleaned up by {@link cleanup}. */
export class FaultBed {
  private readonly dirs: string[] = [];
  private readonly servers: ServerProcess[] = [];

  /** A fresh data directory. */
  dir(prefix = 'marina-fault-'): string {
    const d = tempDir(prefix);
    this.dirs.push(d);
    return d;
  }

  /** Starts `marina serve` on `root`, fsync ON unless told otherwise, with extra environment (e.g. MARINA_CRASH_AT). */
  async serve(root: string, env: Record<string, string> = {}, options: StartOptions & { args?: string[] } = {}): Promise<ServerProcess> {
    const server = await startServer(root, options.args ?? [], env, 15_000, { sync: options.sync ?? true });
    this.servers.push(server);
    return server;
  }

  /** Kills every server still running and removes the directories. */
  async cleanup(): Promise<void> {
    for (const s of this.servers) await s.stop('SIGKILL', 5000);
    for (const d of this.dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

/** A client on a real server (global fetch). */
export function clientOf(server: ServerProcess): Client {
  return new Client((request) => fetch(request), server.url);
}

/** Waits (bounded) for a server process to die and returns how: the signal name or the exit code. */
export async function died(server: ServerProcess, timeoutMs = 10_000): Promise<string | number | null> {
  const timer = setTimeout(() => server.proc.kill('SIGKILL'), timeoutMs);
  await server.proc.exited;
  clearTimeout(timer);
  return server.proc.signalCode ?? server.proc.exitCode;
}

/** SIGKILLs a server and waits for it to be gone. */
export async function kill(server: ServerProcess): Promise<void> {
  server.proc.kill('SIGKILL');
  await died(server);
}

/** An image's parts, built in memory. */
export interface ImageParts {
  config: Uint8Array;
  layers: Uint8Array[];
  manifest: Uint8Array;
  digest: Digest;
}

/** A small image: a unique config and the given layers (unique random ones by default). */
export function makeImage(layers: Uint8Array[] = [randomBytes(2048), randomBytes(4096)]): ImageParts {
  const config = bytesOf({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: crypto.randomUUID() });
  const manifest = bytesOf({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf(OCI_CONFIG, config),
    layers: layers.map((l) => descriptorOf(OCI_LAYER, l)),
  });
  return { config, layers, manifest, digest: digestOf(manifest) };
}

/** Status of a request, or 'error' when the connection failed (the server died). Bounded by `timeoutMs`. */
export async function statusOf(c: Client, method: string, url: string, body?: Uint8Array, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<number | 'error'> {
  try {
    const res = await c.transport(
      new Request(c.url(url), {
        method,
        body: body ?? null,
        headers: body ? { 'content-length': String(body.byteLength), ...headers } : headers,
        signal: AbortSignal.timeout(timeoutMs),
      }),
    );
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 'error';
  }
}

/** Pushes blobs (monolithic POST) then the manifest under `tag`, as a client does; the manifest PUT's status. */
export async function pushImage(c: Client, repo: string, tag: string, image: ImageParts): Promise<number | 'error'> {
  for (const blob of [image.config, ...image.layers]) {
    const status = await statusOf(c, 'POST', `/v2/${repo}/blobs/uploads/?digest=${digestOf(blob)}`, blob, { 'content-type': 'application/octet-stream' });
    if (status !== 201) return status;
  }
  return statusOf(c, 'PUT', `/v2/${repo}/manifests/${tag}`, image.manifest, { 'content-type': OCI_MANIFEST });
}

/**
 * Pulls `repo:reference` completely and checks every byte: the manifest, and each blob it names, must hash to its
 * digest and have its size. Returns the problems found (empty when the image is complete).
 */
export async function verifyPull(c: Client, repo: string, reference: string): Promise<string[]> {
  const res = await c.get(`/v2/${repo}/manifests/${reference}`, { accept: OCI_MANIFEST });
  if (res.status !== 200) return [`${repo}:${reference}: manifest answered ${res.status}`];
  const bytes = new Uint8Array(await res.arrayBuffer());
  const digest = res.headers.get('docker-content-digest');
  if (digest !== digestOf(bytes)) return [`${repo}:${reference}: manifest bytes hash to ${digestOf(bytes)}, header says ${digest}`];
  const manifest = JSON.parse(new TextDecoder().decode(bytes)) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
  const problems: string[] = [];
  for (const d of [manifest.config, ...manifest.layers]) {
    const blob = await c.get(`/v2/${repo}/blobs/${d.digest}`);
    const body = new Uint8Array(await blob.arrayBuffer());
    if (blob.status !== 200) problems.push(`${repo}:${reference}: blob ${d.digest} answered ${blob.status}`);
    else if (body.byteLength !== d.size || digestOf(body) !== d.digest) problems.push(`${repo}:${reference}: blob ${d.digest} came back different (${body.byteLength} bytes)`);
  }
  return problems;
}

/** Every tag of a repository, following Link pagination. */
export async function listTags(c: Client, repo: string): Promise<string[]> {
  const res = await c.get(`/v2/${repo}/tags/list?n=10000`);
  if (res.status === 404) return [];
  expect(res.status).toBe(200);
  return ((await res.json()) as { tags: string[] | null }).tags ?? [];
}

/** Runs `marina fsck` on a data directory (no server running on it) and asserts it exits 0; returns its output. */
export async function expectConsistent(root: string, ...args: string[]): Promise<string> {
  const r = await runCli(['fsck', '--data', root, '--quiet', ...args], {}, 60_000);
  if (r.code !== 0) throw new Error(`marina fsck exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  expect(r.stdout).toContain('result: consistent');
  return r.stdout;
}

/**
 * A small tmpfs for full-disk tests (CI runs as root). `mount()` fails the suite clearly when mounting is not
 * permitted; `fill(leave)` fills it up to all but `leave` bytes and returns what removes the filler.
 */
export class SmallDisk {
  readonly mountPoint: string;
  private mounted = false;

  constructor(prefix: string, private readonly size = '8m') {
    this.mountPoint = tempDir(prefix);
  }

  mount(): void {
    const mount = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', `size=${this.size}`, 'tmpfs', this.mountPoint]);
    if (mount.exitCode !== 0) {
      throw new Error(`the ENOSPC tests need a small tmpfs: 'mount -t tmpfs' failed (run as root, as CI does): ${mount.stderr.toString().trim()}`);
    }
    this.mounted = true;
  }

  fill(leave = 0): () => void {
    const filler = `${this.mountPoint}/filler-${crypto.randomUUID()}`;
    const fd = fs.openSync(filler, 'w');
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const stat = fs.statfsSync(this.mountPoint);
        const free = stat.bavail * stat.bsize;
        if (free <= leave) break;
        fs.writeSync(fd, chunk, 0, Math.min(chunk.byteLength, free - leave));
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
    } finally {
      fs.closeSync(fd);
    }
    return () => fs.rmSync(filler, { force: true });
  }

  unmount(): void {
    if (this.mounted) Bun.spawnSync(['umount', this.mountPoint]);
    this.mounted = false;
    fs.rmSync(this.mountPoint, { recursive: true, force: true });
  }
}
