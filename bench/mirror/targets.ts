/** The caches under test: Marina as a mirror and Distribution 2.8 as a pull-through cache, both fed by the proxy. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, ServerProcess } from '../lib/server-process.ts';
import { REPOSITORY } from './image.ts';

/** The bun binary running this script, so children use the same one. */
const BUN = process.execPath;
/** The repository root. */
const ROOT = path.resolve(import.meta.dir, '..', '..');

/** A pull-through cache that can be restarted empty. */
export interface MirrorTarget {
  id: string;
  /** Base URL of the running target, e.g. http://127.0.0.1:1234. */
  base: string;
  /** The repository path clients pull, e.g. `up.local/lib/app`. */
  repository: string;
  /** Stops the target (if running), empties its data dir and starts it again. */
  restartEmpty(): Promise<void>;
  /** Stops the target. */
  stop(): Promise<void>;
}

/** Shared machinery: a data dir under `work`, a port, one process at a time. */
abstract class ProcessMirror implements MirrorTarget {
  abstract readonly id: string;
  abstract readonly repository: string;
  base = '';
  private proc: ServerProcess | undefined;

  constructor(
    protected readonly work: string,
    protected readonly upstream: string,
  ) {}

  protected abstract argv(port: number, data: string): string[];

  async restartEmpty(): Promise<void> {
    await this.stop();
    const data = path.join(this.work, this.id, 'data');
    fs.rmSync(data, { recursive: true, force: true });
    fs.mkdirSync(data, { recursive: true });
    const port = await freePort();
    this.base = `http://127.0.0.1:${port}`;
    const logFile = path.join(this.work, this.id, 'server.log');
    this.proc = await ServerProcess.start({ argv: this.argv(port, data), logFile, cores: '' }, `${this.base}/v2/`);
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
    this.proc = undefined;
  }
}

/** Marina with `--mirror up.local=<proxy>`; images are pulled as `up.local/<repository>`. */
export class MarinaMirror extends ProcessMirror {
  readonly id = 'marina';
  readonly repository = `up.local/${REPOSITORY}`;

  protected argv(port: number, data: string): string[] {
    const main = path.join(ROOT, 'src', 'cli', 'main.ts');
    return [BUN, main, 'serve', '--port', String(port), '--data', data, '--mirror', `up.local=${this.upstream}`, '--log-level', 'warn'];
  }
}

/** CNCF Distribution with `proxy.remoteurl` set to the proxy; images are pulled by their upstream name. */
export class DistributionMirror extends ProcessMirror {
  readonly id = 'distribution';
  readonly repository = REPOSITORY;

  constructor(
    work: string,
    upstream: string,
    private readonly binary: string,
  ) {
    super(work, upstream);
  }

  protected argv(port: number, data: string): string[] {
    const config = path.join(this.work, this.id, 'config.yml');
    const yaml = [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(data)}`,
      '  cache:',
      '    blobdescriptor: inmemory',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      'proxy:',
      `  remoteurl: ${this.upstream}`,
      '',
    ];
    fs.writeFileSync(config, yaml.join('\n'));
    return [this.binary, 'serve', config];
  }
}

/** The upstream registry: a plain Marina on its own data dir (no fsync). */
export async function startUpstream(work: string): Promise<{ proc: ServerProcess; port: number }> {
  const data = path.join(work, 'upstream', 'data');
  fs.mkdirSync(data, { recursive: true });
  const port = await freePort();
  const main = path.join(ROOT, 'src', 'cli', 'main.ts');
  const argv = [BUN, main, 'serve', '--port', String(port), '--data', data, '--log-level', 'warn', '--no-sync'];
  const proc = await ServerProcess.start({ argv, logFile: path.join(work, 'upstream', 'server.log'), cores: '' }, `http://127.0.0.1:${port}/v2/`);
  return { proc, port };
}
