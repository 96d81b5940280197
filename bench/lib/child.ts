/** Runs a helper program to completion with a hard time limit, capturing its output. */
import { pinned } from './pinning.ts';

/** What a finished child printed. */
export interface ChildOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs `argv` on `cores`; kills it (SIGKILL) and throws when it outlives `timeoutMs`. */
export async function runChild(argv: string[], cores: string, timeoutMs: number): Promise<ChildOutput> {
  const proc = Bun.spawn(pinned(cores, argv), { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, timeoutMs);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (timedOut) throw new Error(`${argv[0]} killed after ${Math.round(timeoutMs / 1000)} s (time cap)`);
  return { stdout, stderr, exitCode };
}
