/** The part every target shares: one server process on a fixed loopback port, started and stopped on demand. */
import * as path from 'node:path';
import type { DataSet } from '../data/dataset.ts';
import type { Pinning } from '../lib/pinning.ts';
import { freePort, ServerProcess } from '../lib/server-process.ts';
import type { Feature, Role, Target } from './types.ts';

/** Where a target keeps its files and how it is pinned. */
export interface TargetEnv {
  /** The run's work directory; the target uses `<workdir>/<id>`. */
  workdir: string;
  pinning: Pinning;
}

/** A target backed by one server process. Subclasses say how to seed it and what command runs it. */
export abstract class ProcessTarget implements Target {
  abstract readonly id: string;
  abstract readonly label: string;
  abstract readonly role: Role;
  abstract readonly version: string;
  abstract readonly features: ReadonlySet<Feature>;
  readonly notes: string[] = [];
  readonly headers: Record<string, string> = {};
  private server: ServerProcess | undefined;
  private port = 0;

  constructor(protected readonly env: TargetEnv) {}

  /** This target's private directory. */
  protected get dir(): string {
    return path.join(this.env.workdir, this.id);
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.server?.pid ?? 0;
  }

  abstract seed(data: DataSet): Promise<void>;
  abstract forgetBlobs(digests: string[]): void;
  abstract forgetUploads(): void;

  /** The command line that serves on `port`. */
  protected abstract command(port: number): { argv: string[]; env?: Record<string, string> };

  async start(): Promise<number> {
    if (this.server) throw new Error(`${this.id} is already running`);
    if (!this.port) this.port = await freePort();
    const { argv, env } = this.command(this.port);
    this.server = await ServerProcess.start(
      { argv, env, cores: this.env.pinning.server, logFile: path.join(this.env.workdir, `${this.id}.log`) },
      `${this.baseUrl}/v2/`,
    );
    return this.server.readyMs;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.stop();
  }
}
