/**
 * Several independent `marina serve` nodes sharing storage, behind a round-robin {@link startBalancer}: each node is
 * its own process on its own port (no primary/worker family), so any request may land on any node.
 *
 * Storage ({@link NodesStorage}): one data directory on this host shared with `--locks host` (host locks in
 * `locks.sqlite`, fresh index reads per request), or remote stores every node reaches. The nodes start one after
 * another before any traffic.
 */
import * as fs from 'node:fs';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import { startBalancer, type Balancer } from './balancer.ts';
import { startPostgres } from './postgres.ts';
import { startSeaweedFs } from './seaweedfs.ts';

/** Nodes and the balancer in front of them. */
export interface Nodes {
  nodes: ServerProcess[];
  balancer: Balancer;
  /** The balancer's URL: where clients go. */
  url: string;
  /** The shared data directory (`shared-dir`), or the one holding each node's own (`remote`). */
  data: string;
  /** Stops the balancer and every node still running, and removes the data directory. */
  stop(): Promise<void>;
}

/**
 * What the nodes share. `shared-dir`: one data directory with `--locks host`. `remote`: stores every node reaches
 * (e.g. `--blobs s3://… --index postgres://…` in `args`), each node with a data directory of its own.
 */
export type NodesStorage =
  | { kind: 'shared-dir'; args?: string[]; env?: Record<string, string> }
  | { kind: 'remote'; args: string[]; env?: Record<string, string> };

/** The name of the storage mode of nodes that could be on different machines (S3 blobs, PostgreSQL index). */
export const PG_S3 = 'blobs in S3 (SeaweedFS), index in PostgreSQL, a data directory per node';

/** A way of sharing storage that tests run over, with the engines it needs started and stopped. */
export interface StorageMode {
  name: string;
  /** Starts what the mode needs (e.g. SeaweedFS) and gives the nodes' storage. */
  start(): Promise<{ storage: NodesStorage; stop(): Promise<void> }>;
}

/**
 * The storage modes the node tests run over: one data directory with filesystem blobs; one data directory with the
 * blobs in an S3 bucket (a real SeaweedFS); and S3 blobs with the index, ledgers and locks in PostgreSQL (a
 * throwaway cluster), each node with its own data directory — nodes that could be on different machines.
 */
export const STORAGE_MODES: StorageMode[] = [
  { name: 'one data directory', start: async () => ({ storage: { kind: 'shared-dir' }, stop: async () => undefined }) },
  {
    name: 'one data directory, blobs in S3 (SeaweedFS)',
    async start() {
      const weed = await startSeaweedFs();
      try {
        await weed.createBucket('nodes');
      } catch (error) {
        await weed.stop();
        throw error;
      }
      const env = { AWS_ACCESS_KEY_ID: weed.accessKeyId, AWS_SECRET_ACCESS_KEY: weed.secretAccessKey, AWS_REGION: weed.region };
      const args = ['--blobs', `s3://nodes/${crypto.randomUUID().slice(0, 8)}`, '--s3-endpoint', weed.endpoint, '--s3-part-size', '5MiB'];
      return { storage: { kind: 'shared-dir', args, env }, stop: () => weed.stop() };
    },
  },
  {
    name: PG_S3,
    async start() {
      const [pg, weed] = await Promise.allSettled([startPostgres(), startSeaweedFs()]);
      const stop = async () => {
        if (weed.status === 'fulfilled') await weed.value.stop();
        if (pg.status === 'fulfilled') await pg.value.stop();
      };
      try {
        if (pg.status === 'rejected') throw pg.reason;
        if (weed.status === 'rejected') throw weed.reason;
        await weed.value.createBucket('nodes');
        const index = await pg.value.createDatabase();
        const w = weed.value;
        const env = { AWS_ACCESS_KEY_ID: w.accessKeyId, AWS_SECRET_ACCESS_KEY: w.secretAccessKey, AWS_REGION: w.region };
        const args = ['--index', index, '--blobs', `s3://nodes/${crypto.randomUUID().slice(0, 8)}`, '--s3-endpoint', w.endpoint, '--s3-part-size', '5MiB'];
        return { storage: { kind: 'remote', args, env }, stop };
      } catch (error) {
        await stop();
        throw error;
      }
    },
  },
];

/** The modes of nodes on one host sharing a directory with filesystem blobs, and of nodes on S3 + PostgreSQL. */
export const FS_AND_PG_S3 = STORAGE_MODES.filter((m) => m.name === 'one data directory' || m.name === PG_S3);

/** Options of {@link startNodes}. */
export interface NodesOptions {
  /** @default 3 */
  count?: number;
  /** More `serve` flags for every node (e.g. `--mirror`). */
  args?: string[];
  env?: Record<string, string>;
  /** @default { kind: 'shared-dir' } */
  storage?: NodesStorage;
}

/** Starts `count` nodes on free loopback ports sharing storage, and a balancer in front of them. */
export async function startNodes(options: NodesOptions = {}): Promise<Nodes> {
  const count = options.count ?? 3;
  const storage = options.storage ?? { kind: 'shared-dir' };
  const data = tempDir('marina-nodes-');
  const nodes: ServerProcess[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const own = storage.kind === 'shared-dir' ? data : fs.mkdtempSync(`${data}/node-${i}-`);
      const args = storage.kind === 'shared-dir' ? ['--locks', 'host', ...(storage.args ?? [])] : storage.args;
      const env = { ...storage.env, ...options.env };
      nodes.push(await startServer(own, [...args, ...(options.args ?? [])], env, 20_000));
    }
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    fs.rmSync(data, { recursive: true, force: true });
    throw error;
  }
  const balancer = startBalancer(nodes.map((n) => ({ url: n.url })));
  return {
    nodes,
    balancer,
    url: balancer.url,
    data,
    async stop() {
      await balancer.stop();
      await Promise.all(nodes.map((n) => n.stop('SIGTERM', 15_000)));
      fs.rmSync(data, { recursive: true, force: true });
    },
  };
}

/** The node that answered each request so far, as a set (to check that the traffic was spread). */
export function nodesUsed(balancer: Balancer, filter: (e: Balancer['log'][number]) => boolean = () => true): Set<number> {
  return new Set(balancer.log.filter(filter).map((e) => e.node));
}
