/** Marina itself: `bun src/cli/main.ts serve` on a data directory seeded through its library. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataSet } from '../data/dataset.ts';
import { seedMarina } from './marina-seed.ts';
import { ProcessTarget, type TargetEnv } from './process-target.ts';
import type { Feature } from './types.ts';

/** The repository root (bench/ lives in it). */
export const REPO_ROOT = path.resolve(import.meta.dir, '../..');

/** Options of the Marina target. */
export interface MarinaOptions {
  /** Extra `bun` flags before the script, e.g. `--cpu-prof --cpu-prof-dir=…` when profiling. */
  bunFlags?: string[];
  /**
   * Worker processes for `marina serve --workers N` (the scale-out issue). Unset: one process, as today. This is the
   * one place the benchmark passes it; the unpinned placement is where more workers can use the second core.
   */
  workers?: number;
  /** Id and label in the report, for a second Marina beside the first (e.g. `marina-w2`). @default 'marina', 'Marina' */
  id?: string;
  label?: string;
  /**
   * A data directory already seeded with the same data set: copied instead of seeded again (blob files hard-linked,
   * the index and ledgers copied, so the two servers share no writable file).
   */
  seedFrom?: string;
}

/** Marina's `serve` command with fsync on (its default), logging at warn. */
export class MarinaTarget extends ProcessTarget {
  readonly id: string;
  readonly label: string;
  readonly role = 'subject' as const;
  readonly version: string;
  readonly features: ReadonlySet<Feature> = new Set<Feature>(['blob-get', 'range', 'manifest', 'push', 'image-push', 'tags', 'referrers', 'cold-start']);

  constructor(
    env: TargetEnv,
    private readonly options: MarinaOptions = {},
  ) {
    super(env);
    this.id = options.id ?? 'marina';
    this.label = options.label ?? 'Marina';
    this.version = marinaVersion();
    this.notes.push('durable commits (fsync of each blob and of the index), as `serve` runs by default');
    if (options.bunFlags?.length) this.notes.push(`bun flags: ${options.bunFlags.join(' ')}`);
    this.notes.push(options.workers ? `--workers ${options.workers}` : 'one process (no --workers)');
  }

  /** The data directory `serve` runs on. */
  get data(): string {
    return path.join(this.dir, 'data');
  }

  async seed(data: DataSet): Promise<void> {
    if (this.options.seedFrom) copyDataDir(this.options.seedFrom, this.data);
    else await seedMarina(this.data, data);
  }

  /** Arguments after `serve` beyond address, data and log level (subclasses add their storage). */
  protected serveArgs(): string[] {
    return this.options.workers ? ['--workers', String(this.options.workers)] : [];
  }

  /**
   * Runs the next starts from the bytecode bundle `npm run build` makes (`bun dist/main.js serve`, the README's
   * fastest start) instead of the sources, until called with false; the bundle is built into this target's
   * directory on first use.
   */
  async useBundle(on: boolean): Promise<void> {
    if (on && !this.bundle) {
      const { buildBundle } = await import('../../bin/build-bundle.ts');
      this.bundle = await buildBundle(path.join(this.dir, 'bundle'));
    }
    this.fromBundle = on;
  }

  private bundle: string | undefined;
  private fromBundle = false;

  protected command(port: number) {
    const entry = this.fromBundle && this.bundle ? this.bundle : path.join(REPO_ROOT, 'src/cli/main.ts');
    const argv = [process.execPath, ...(this.options.bunFlags ?? []), entry, 'serve'];
    argv.push('--host', '127.0.0.1', '--port', String(port), '--data', this.data, '--log-level', 'warn', ...this.serveArgs());
    return { argv };
  }

  forgetBlobs(digests: string[]): void {
    for (const digest of digests) {
      const hex = digest.slice(digest.indexOf(':') + 1);
      fs.rmSync(path.join(this.data, 'blobs', 'sha256', hex.slice(0, 2), hex), { force: true });
    }
  }

  forgetUploads(): void {
    emptyDir(path.join(this.data, 'uploads'));
  }
}

/** Copies a seeded data directory: blob files hard-linked (never written in place), everything else copied. */
function copyDataDir(from: string, to: string): void {
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(to, { recursive: true });
  for (const name of fs.readdirSync(from)) {
    const source = path.join(from, name);
    if (name === 'blobs') {
      const linked = Bun.spawnSync(['cp', '-al', source, path.join(to, name)], { stderr: 'pipe' });
      if (!linked.success) throw new Error(`hard-linking ${source}: ${linked.stderr.toString()}`);
    } else fs.cpSync(source, path.join(to, name), { recursive: true });
  }
}

/** Removes the files in a directory, keeping the directory. */
export function emptyDir(dir: string): void {
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
}

/** `0.1.0 (4a76487)`, with `+dirty` when src/ has uncommitted changes. */
function marinaVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: string };
  const git = (args: string[]) => Bun.spawnSync(['git', '-C', REPO_ROOT, ...args], { stderr: 'ignore' });
  const commit = git(['rev-parse', '--short', 'HEAD']).stdout.toString().trim();
  const dirty = git(['status', '--porcelain', '--', 'src']).stdout.toString().trim() !== '';
  return `${pkg.version ?? '?'}${commit ? ` (${commit}${dirty ? '+dirty' : ''})` : ''}`;
}
