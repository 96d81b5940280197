/**
 * CNCF Distribution (2.8 from Debian's docker-registry, v3 built with `go install`) on a loopback port with a
 * filesystem root in the work directory and a config.yml written here. Both versions use the same storage
 * layout, so they share one seeded root (written once) and run one at a time against it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataSet } from '../data/dataset.ts';
import { DistributionLayout } from './distribution-layout.ts';
import { ProcessTarget, type TargetEnv } from './process-target.ts';
import type { Feature } from './types.ts';

/** One storage root shared by the Distribution targets; seeded once. */
export class DistributionStore {
  private seeding: Promise<void> | undefined;

  constructor(readonly root: string) {}

  /** Writes the data set on the first call; later calls wait for that one. */
  seed(data: DataSet): Promise<void> {
    this.seeding ??= Promise.resolve().then(() => new DistributionLayout(this.root).seed(data));
    return this.seeding;
  }

  /** Removes unfinished uploads (`<repository>/_uploads/*`) of every repository. */
  forgetUploads(): void {
    const walk = (dir: string): void => {
      for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
        if (!entry.isDirectory()) continue;
        const sub = path.join(dir, entry.name);
        if (entry.name === '_uploads') fs.rmSync(sub, { recursive: true, force: true });
        else if (!entry.name.startsWith('_')) walk(sub);
      }
    };
    walk(path.join(this.root, 'docker', 'registry', 'v2', 'repositories'));
  }

  /** Removes blobs (their `data` and directory) from the store. */
  forgetBlobs(digests: string[]): void {
    const layout = new DistributionLayout(this.root);
    for (const digest of digests) fs.rmSync(layout.blobDir(digest), { recursive: true, force: true });
  }
}

/** Which Distribution. */
export interface DistributionSpec {
  id: string;
  label: string;
  binary: string;
}

/** A Distribution registry process. */
export class DistributionTarget extends ProcessTarget {
  readonly id: string;
  readonly label: string;
  readonly role = 'peer' as const;
  readonly version: string;
  readonly features: ReadonlySet<Feature> = new Set<Feature>(['blob-get', 'range', 'manifest', 'push', 'image-push', 'tags', 'referrers', 'cold-start']);

  constructor(
    env: TargetEnv,
    private readonly spec: DistributionSpec,
    private readonly store: DistributionStore,
  ) {
    super(env);
    this.id = spec.id;
    this.label = spec.label;
    this.version = programVersion(spec.binary);
    this.notes.push('filesystem driver, in-memory blob descriptor cache, access log off; Distribution does not fsync');
  }

  async seed(data: DataSet): Promise<void> {
    await this.store.seed(data);
  }

  protected command(port: number) {
    fs.mkdirSync(this.dir, { recursive: true });
    const config = path.join(this.dir, 'config.yml');
    fs.writeFileSync(config, configYaml(this.store.root, port));
    return { argv: [this.spec.binary, 'serve', config] };
  }

  forgetBlobs(digests: string[]): void {
    this.store.forgetBlobs(digests);
  }

  forgetUploads(): void {
    this.store.forgetUploads();
  }
}

/** A minimal config: filesystem storage, deletes on, no background upload purging, quiet logs. */
function configYaml(root: string, port: number): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(root)}`,
    '  cache:',
    '    blobdescriptor: inmemory',
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
}

/** The last word of `<binary> --version` (e.g. `2.8.2+ds1`, `v3.1.2`). */
export function programVersion(binary: string): string {
  const r = Bun.spawnSync([binary, '--version'], { stderr: 'pipe' });
  const text = `${r.stdout.toString()} ${r.stderr.toString()}`.trim();
  return text.split(/\s+/).at(-1) ?? 'unknown';
}
