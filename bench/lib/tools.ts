/** Finds the external programs the benchmark can use, on PATH or in the tools directory of .ci/install-tools.sh. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where .ci/install-tools.sh puts Go and Rust tools. */
export const TOOLS_BIN = path.join(process.env.MARINA_TOOLS_DIR ?? '/opt/marina-tools', 'bin');

/** Absolute paths of the optional tools that were found. */
export interface Tools {
  wrk?: string;
  oha?: string;
  /** curl (Debian's): the second generator for loads bound by bytes. */
  curl?: string;
  /** CNCF Distribution 2.8 (Debian's docker-registry). */
  dist2?: string;
  /** CNCF Distribution v3. */
  dist3?: string;
}

/** Looks for each tool; explicit paths (from flags) win. */
export function findTools(overrides: Partial<Tools> = {}): Tools {
  const find = (...names: string[]) => {
    for (const name of names) {
      const inTools = path.join(TOOLS_BIN, name);
      if (isExecutable(inTools)) return inTools;
      const onPath = Bun.which(name);
      if (onPath) return onPath;
    }
    return undefined;
  };
  const tools: Tools = {};
  const wrk = overrides.wrk ?? find('wrk');
  const oha = overrides.oha ?? find('oha');
  const curl = overrides.curl ?? find('curl');
  const dist2 = overrides.dist2 ?? find('docker-registry');
  const dist3 = overrides.dist3 ?? find('registry-v3');
  if (wrk) tools.wrk = wrk;
  if (oha) tools.oha = oha;
  if (curl) tools.curl = curl;
  if (dist2) tools.dist2 = dist2;
  if (dist3) tools.dist3 = dist3;
  return tools;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first line a program prints for `args` (its version), or "unknown". */
export function versionLine(binary: string, args: string[] = ['--version']): string {
  const r = Bun.spawnSync([binary, ...args], { stderr: 'pipe', stdout: 'pipe' });
  const text = `${r.stdout.toString()}\n${r.stderr.toString()}`.trim();
  return text.split('\n')[0]?.trim() || 'unknown';
}
