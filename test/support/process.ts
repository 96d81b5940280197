/** Process helpers for integration tests: free ports and readiness polling, bounded in time. */

/** A port the kernel reports free on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/** Polls `url` until it answers, the process exits, or `timeoutMs` passes. */
export async function waitForHttp(url: string, proc: { exitCode: number | null; stderr?: unknown }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) {
      const err = proc.stderr instanceof ReadableStream ? await new Response(proc.stderr).text() : '';
      throw new Error(`process exited with ${proc.exitCode} before ${url} answered\n${err}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return;
    } catch {
      await Bun.sleep(50);
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}
