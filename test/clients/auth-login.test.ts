/**
 * Real clients log in to Marina with access control on, then push and pull: skopeo, podman, crane, oras, regctl and
 * containerd (ctr with credentials), against four servers — Basic (`--auth basic`) and token (`--auth token`), each
 * over plain HTTP and over HTTPS with a certificate from a CA this test generates (clients are told to trust the CA;
 * no `--insecure` on TLS). A wrong password is refused by every client. The matrix is printed at the end.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Layout, textLayer, writeImage, MEDIA } from '../fixtures/layout.ts';
import type { ServerProcess } from '../helpers/server.ts';
import { startServer } from '../helpers/server.ts';
import { startContainerd, type ContainerdDaemon } from '../support/containerd.ts';
import { makeCertificates, type TestCertificates } from '../support/tls.ts';
import { basic, writeUsers } from '../auth/support.ts';
import { HOOK_TIMEOUT_MS, pushLayout, removeTempDirs, run, tempDir, tool, type Marina } from './harness.ts';

const USER = 'ci-user';
const PASSWORD = 'ci-password-7f3a';
const SERVERS = [
  { mode: 'basic', tls: false },
  { mode: 'basic', tls: true },
  { mode: 'token', tls: false },
  { mode: 'token', tls: true },
] as const;
type Cell = { client: string; mode: string; transport: string; result: string };
const matrix: Cell[] = [];

let work: string;
let certs: TestCertificates;
let layout: string;
let containerd: ContainerdDaemon;
const platform = { architecture: process.arch === 'arm64' ? 'arm64' : 'amd64', os: 'linux' };

beforeAll(async () => {
  work = tempDir('auth-login');
  certs = await makeCertificates(path.join(work, 'tls'));
  fs.mkdirSync(path.join(work, 'cert-dir'));
  fs.copyFileSync(certs.caCert, path.join(work, 'cert-dir', 'ca.crt'));
  // A tiny, real image (one gzip tar layer) that every client can copy and containerd can unpack.
  layout = path.join(work, 'layout');
  const l = new Layout(layout);
  const image = writeImage(l, 'oci', 'auth-login', platform, [textLayer(l, MEDIA.ociLayerGzip, 'auth-login', 20)]);
  l.finish(image.manifest);
  fs.mkdirSync(path.join(work, 'containerd'));
  containerd = await startContainerd(path.join(work, 'containerd'));
}, HOOK_TIMEOUT_MS);

afterAll(async () => {
  await containerd?.stop();
  const rows = matrix.map((c) => `| ${c.client.padEnd(10)} | ${c.mode.padEnd(5)} | ${c.transport.padEnd(5)} | ${c.result} |`);
  console.log(['client login matrix:', '| client     | auth  | link  | result |', '|---|---|---|---|', ...rows].join('\n'));
  removeTempDirs();
}, HOOK_TIMEOUT_MS);

for (const config of SERVERS) {
  const transport = config.tls ? 'TLS' : 'HTTP';
  describe(`${config.mode} auth over ${transport}`, () => {
    let server: ServerProcess;
    let host: string;
    let dir: string;

    beforeAll(async () => {
      dir = tempDir(`auth-${config.mode}-${transport}`);
      const users = await writeUsers(dir, { [USER]: PASSWORD });
      const tlsArgs = config.tls ? ['--tls-cert', certs.serverCert, '--tls-key', certs.serverKey] : [];
      server = await startServer(path.join(dir, 'data'), ['--auth', config.mode, '--htpasswd', users, '--log-level', 'debug', ...tlsArgs]);
      host = `127.0.0.1:${server.port}`;
      const ca = fs.readFileSync(certs.caCert, 'utf8');
      // Seed auth/seed:v1 over the API with Basic credentials (both modes accept them on /v2/).
      const seeder = {
        fetch: (pathname: string, init: RequestInit = {}) =>
          fetch(`${server.url}${pathname}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: basic(USER, PASSWORD) }, tls: { ca } } as RequestInit),
      } as unknown as Marina;
      await pushLayout(seeder, layout, 'auth/seed', 'v1');
      // Nothing works without credentials.
      const anonymous = await fetch(`${server.url}/v2/auth/seed/tags/list`, { tls: { ca } } as RequestInit);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toStartWith(config.mode === 'basic' ? 'Basic ' : 'Bearer ');
    }, HOOK_TIMEOUT_MS);
    afterAll(async () => {
      await server?.stop();
    });

    /** Runs one client scenario and records the cell. */
    const cell = (client: string, body: (home: string) => Promise<void>) =>
      test(`${client} logs in, pushes and pulls; a wrong password is refused`, async () => {
        const home = tempDir(`${client}-${config.mode}-${transport}`);
        const issued = () => server.stderr().split('\n').filter((l) => l.includes('token issued') && l.includes(`subject=${USER}`)).length;
        const before = issued();
        try {
          await body(home);
          // In token mode the client really went through /token; in Basic mode there is no token to get.
          if (config.mode === 'token') expect(issued()).toBeGreaterThan(before);
          else expect(issued()).toBe(0);
          matrix.push({ client, mode: config.mode, transport, result: 'pass' });
        } catch (error) {
          matrix.push({ client, mode: config.mode, transport, result: 'FAIL' });
          throw error;
        }
      }, 180_000);

    const expectTag = async (repo: string, tag: string) => {
      const res = await fetch(`${server.url}/v2/${repo}/tags/list`, { headers: { authorization: basic(USER, PASSWORD) }, tls: { ca: fs.readFileSync(certs.caCert, 'utf8') } } as RequestInit);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { tags: string[] }).tags).toContain(tag);
    };
    const refused = async (argv: string[], options: { env?: Record<string, string>; cwd?: string } = {}) => {
      const result = await run(argv, { ...options, allowFailure: true, timeoutMs: 60_000 });
      expect(result.code).not.toBe(0);
      return result;
    };

    cell('skopeo', async (home) => {
      const policy = path.join(home, 'policy.json');
      fs.writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
      const authfile = path.join(home, 'auth.json');
      const env = { HOME: home, TMPDIR: home, REGISTRY_AUTH_FILE: authfile, CONTAINERS_REGISTRIES_CONF: path.join(home, 'none.conf') };
      fs.writeFileSync(env.CONTAINERS_REGISTRIES_CONF, 'unqualified-search-registries = []\n');
      const tlsFlag = (side: '' | 'src-' | 'dest-') => (config.tls ? [`--${side}cert-dir`, path.join(work, 'cert-dir')] : [`--${side}tls-verify=false`]);
      await refused([tool('skopeo'), 'login', '--authfile', authfile, ...tlsFlag(''), '-u', USER, '-p', 'wrong-password', host], { env });
      await run([tool('skopeo'), 'login', '--authfile', authfile, ...tlsFlag(''), '-u', USER, '-p', PASSWORD, host], { env });
      await run([tool('skopeo'), '--policy', policy, 'copy', '--authfile', authfile, ...tlsFlag('dest-'), `oci:${layout}:latest`, `docker://${host}/auth/skopeo:v1`], { env });
      await run([tool('skopeo'), '--policy', policy, 'copy', '--authfile', authfile, ...tlsFlag('src-'), `docker://${host}/auth/skopeo:v1`, `oci:${path.join(home, 'out')}:latest`], { env });
      await expectTag('auth/skopeo', 'v1');
    });

    cell('podman', async (home) => {
      for (const d of ['root', 'runroot', 'tmp']) fs.mkdirSync(path.join(home, d));
      const file = (name: string, text: string) => (fs.writeFileSync(path.join(home, name), text), path.join(home, name));
      const authfile = path.join(home, 'auth.json');
      const env = {
        HOME: home,
        TMPDIR: path.join(home, 'tmp'),
        REGISTRY_AUTH_FILE: authfile,
        CONTAINERS_STORAGE_CONF: file('storage.conf', `[storage]\ndriver = "vfs"\ngraphroot = "${home}/root"\nrunroot = "${home}/runroot"\n`),
        CONTAINERS_REGISTRIES_CONF: file('registries.conf', 'unqualified-search-registries = []\n'),
        CONTAINERS_CONF: file('containers.conf', '[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n'),
      };
      const policy = file('policy.json', JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
      const global = ['--root', `${home}/root`, '--runroot', `${home}/runroot`, '--storage-driver', 'vfs', '--tmpdir', `${home}/tmp`, '--events-backend', 'none', '--cgroup-manager', 'cgroupfs'];
      const tls = config.tls ? ['--cert-dir', path.join(work, 'cert-dir')] : ['--tls-verify=false'];
      const podman = (args: string[]) => run([tool('podman'), ...global, ...args], { env, timeoutMs: 120_000 });
      await refused([tool('podman'), ...global, 'login', ...tls, '-u', USER, '-p', 'wrong-password', host], { env });
      await podman(['login', ...tls, '-u', USER, '-p', PASSWORD, host]);
      await podman(['pull', ...tls, '--signature-policy', policy, `${host}/auth/seed:v1`]);
      await podman(['push', ...tls, '--signature-policy', policy, `${host}/auth/seed:v1`, `docker://${host}/auth/podman:v1`]);
      await expectTag('auth/podman', 'v1');
    });

    cell('crane', async (home) => {
      const env: Record<string, string> = { HOME: home, DOCKER_CONFIG: home, ...(config.tls ? { SSL_CERT_FILE: certs.caCert } : {}) };
      const insecure = config.tls ? [] : ['--insecure'];
      // crane auth login only stores credentials; the wrong password shows at first use.
      await run([tool('crane'), 'auth', 'login', host, '-u', USER, '-p', 'wrong-password'], { env });
      const denied = await refused([tool('crane'), 'copy', ...insecure, `${host}/auth/seed:v1`, `${host}/auth/crane:v1`], { env });
      expect(denied.stderr).toMatch(/UNAUTHORIZED|401|unauthorized/);
      await run([tool('crane'), 'auth', 'login', host, '-u', USER, '-p', PASSWORD], { env });
      await run([tool('crane'), 'copy', ...insecure, `${host}/auth/seed:v1`, `${host}/auth/crane:v1`], { env });
      const digest = (await run([tool('crane'), 'digest', ...insecure, `${host}/auth/crane:v1`], { env })).stdout.trim();
      expect(digest).toStartWith('sha256:');
      await expectTag('auth/crane', 'v1');
    });

    cell('oras', async (home) => {
      const env = { HOME: home, DOCKER_CONFIG: home };
      const tls = config.tls ? ['--ca-file', certs.caCert] : ['--plain-http'];
      fs.writeFileSync(path.join(home, 'hello.txt'), 'hello from oras');
      await refused([tool('oras'), 'login', ...tls, '-u', USER, '-p', 'wrong-password', host], { env });
      await run([tool('oras'), 'login', ...tls, '-u', USER, '-p', PASSWORD, host], { env });
      await run([tool('oras'), 'push', ...tls, `${host}/auth/oras:v1`, 'hello.txt:text/plain'], { env, cwd: home });
      await run([tool('oras'), 'pull', ...tls, '-o', path.join(home, 'out'), `${host}/auth/oras:v1`], { env, cwd: home });
      expect(fs.readFileSync(path.join(home, 'out', 'hello.txt'), 'utf8')).toBe('hello from oras');
    });

    cell('regctl', async (home) => {
      const env = { HOME: home, DOCKER_CONFIG: home };
      const regctl = (args: string[]) => run([tool('regctl'), ...args], { env, cwd: home });
      // `registry set` pings /v2/ without credentials; against a Basic challenge it exits 1 but keeps the settings
      // (Distribution's htpasswd mode answers the same way).
      const set = await run([tool('regctl'), 'registry', 'set', host, ...(config.tls ? ['--cacert', fs.readFileSync(certs.caCert, 'utf8')] : ['--tls', 'disabled'])], { env, cwd: home, allowFailure: true });
      if (set.code !== 0) expect(set.stderr).toContain('configuration still updated');
      await refused([tool('regctl'), 'registry', 'login', host, '-u', USER, '-p', 'wrong-password'], { env, cwd: home });
      await regctl(['registry', 'login', host, '-u', USER, '-p', PASSWORD]);
      await regctl(['image', 'copy', `${host}/auth/seed:v1`, `${host}/auth/regctl:v1`]);
      const manifest = JSON.parse((await regctl(['manifest', 'get', '--format', 'raw-body', `${host}/auth/regctl:v1`])).stdout) as { layers: unknown[] };
      expect(manifest.layers.length).toBe(1);
      await expectTag('auth/regctl', 'v1');
    });

    cell('containerd', async (home) => {
      const hostDir = path.join(home, 'certs.d', host);
      fs.mkdirSync(hostDir, { recursive: true });
      const ca = config.tls ? `  ca = "${certs.caCert}"\n` : '';
      fs.writeFileSync(path.join(hostDir, 'hosts.toml'), `server = "${server.url}"\n\n[host."${server.url}"]\n  capabilities = ["pull", "resolve", "push"]\n${ca}`);
      const namespace = `auth-${config.mode}-${transport}`.toLowerCase();
      const ctr = (args: string[]) => run([tool('ctr'), '--address', containerd.socket, '--namespace', namespace, ...args], { timeoutMs: 120_000 });
      const hosts = ['--hosts-dir', path.join(home, 'certs.d')];
      await refused([tool('ctr'), '--address', containerd.socket, '--namespace', namespace, 'images', 'pull', ...hosts, '--user', `${USER}:wrong-password`, '--snapshotter', 'native', `${host}/auth/seed:v1`]);
      await ctr(['images', 'pull', ...hosts, '--user', `${USER}:${PASSWORD}`, '--snapshotter', 'native', `${host}/auth/seed:v1`]);
      await ctr(['images', 'tag', `${host}/auth/seed:v1`, `${host}/auth/ctr:v1`]);
      await ctr(['images', 'push', ...hosts, '--user', `${USER}:${PASSWORD}`, `${host}/auth/ctr:v1`]);
      await expectTag('auth/ctr', 'v1');
    });
  });
}
