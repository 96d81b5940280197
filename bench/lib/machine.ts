/** A description of the machine a run happened on, for the report. */
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Facts about the machine. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  /** Filesystem type and device under the work directory. */
  filesystem: string;
  bun: string;
  /** Other processes' CPU load at the start (1-minute load average). */
  loadAverage: number;
}

/** Reads the machine facts; `dir` is where the data lives. */
export function describeMachine(dir: string): MachineInfo {
  const cpuinfo = readOr('/proc/cpuinfo');
  const osRelease = readOr('/etc/os-release');
  const df = Bun.spawnSync(['df', '-T', dir], { stderr: 'ignore' }).stdout.toString().trim().split('\n')[1]?.split(/\s+/) ?? [];
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(osRelease)?.[1] ?? os.type(),
    kernel: os.release(),
    filesystem: df.length >= 2 ? `${df[1]} on ${df[0]}` : 'unknown',
    bun: Bun.version,
    loadAverage: os.loadavg()[0] ?? 0,
  };
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
