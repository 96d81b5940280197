/**
 * Starts CNCF Distribution 2.8 (Debian's `docker-registry`) on a free loopback port with a temporary root,
 * for tests that need a real registry other than Marina (one without the referrers API).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, waitForHttp } from './process.ts';

/** A running Distribution registry. */
export interface DistributionServer {
  url: string;
  port: number;
  root: string;
  stop(): Promise<void>;
}

/** The binary; `.ci/install-tools.sh upstream` installs it. */
export const DOCKER_REGISTRY = '/usr/bin/docker-registry';

/** Starts docker-registry; fails with a clear message when it is not installed. */
export async function startDistribution(): Promise<DistributionServer> {
  if (!fs.existsSync(DOCKER_REGISTRY)) {
    throw new Error(`${DOCKER_REGISTRY} is missing: run 'bash .ci/install-tools.sh upstream' (Debian package docker-registry)`);
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'marina-distribution-'));
  const port = await freePort();
  const config = path.join(root, 'config.yml');
  fs.writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(root, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const proc = Bun.spawn([DOCKER_REGISTRY, 'serve', config], { stdout: 'ignore', stderr: 'pipe' });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/v2/`, proc, 15_000);
  return {
    url,
    port,
    root,
    async stop() {
      proc.kill('SIGTERM');
      await proc.exited;
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
