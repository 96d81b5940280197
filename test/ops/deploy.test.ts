/**
 * Deployment recipes, checked as far as this machine allows (no container engine daemon): promtool validates the
 * Prometheus config, lints a real scrape and runs the alert rules' unit tests; systemd-analyze verifies the unit;
 * the Dockerfile's HEALTHCHECK command runs against a real server; the CI snippets parse and their Marina
 * settings pass Marina's own config validation.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readConfigFile, resolveConfig } from '../../src/cli/config.ts';
import { serveConfig } from '../../src/cli/serve.ts';
import { tempDir } from '../helpers/registry.ts';
import { startServer, type ServerProcess } from '../helpers/server.ts';
import { TOOL_PATH } from '../support/commands.ts';
import { freePort } from '../support/process.ts';
import { makeCertificates } from '../support/tls.ts';

const ROOT = path.resolve(import.meta.dir, '../..');
const DEPLOY = path.join(ROOT, 'deploy');
let server: ServerProcess;
const dir = tempDir('marina-deploy-');

beforeAll(async () => {
  server = await startServer(path.join(dir, 'data'), ['--mirror', 'up=http://127.0.0.1:9']);
});

afterAll(async () => {
  await server?.stop('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs a command to completion (bounded); a missing tool fails the test rather than skipping it. */
async function sh(cmd: string[], input?: string): Promise<{ code: number | null; out: string }> {
  const bin = Bun.which(cmd[0]!, { PATH: TOOL_PATH });
  if (!bin) throw new Error(`${cmd[0]} is not installed; run: bash .ci/install-tools.sh ops (promtool) or install systemd (systemd-analyze)`);
  const proc = Bun.spawn([bin, ...cmd.slice(1)], { cwd: ROOT, stdin: input === undefined ? 'ignore' : new TextEncoder().encode(input), stdout: 'pipe', stderr: 'pipe' });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, out: stdout + stderr };
}

describe('Prometheus recipes', () => {
  test('the scrape config and its rule file pass promtool check config', async () => {
    const r = await sh(['promtool', 'check', 'config', path.join(DEPLOY, 'prometheus/prometheus.yml')]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  test('the alert rules pass promtool check rules and fire on the series of their unit tests', async () => {
    const check = await sh(['promtool', 'check', 'rules', path.join(DEPLOY, 'prometheus/alerts.yml')]);
    expect(check.code).toBe(0);
    const unit = await sh(['promtool', 'test', 'rules', path.join(DEPLOY, 'prometheus/alerts.test.yml')]);
    expect(unit.out).toContain('SUCCESS');
    expect(unit.code).toBe(0);
  });

  test("a real scrape passes promtool's metric lint for every marina_ metric", async () => {
    await (await fetch(`${server.url}/v2/`)).arrayBuffer();
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const lint = await sh(['promtool', 'check', 'metrics'], text);
    // prom-client's own nodejs_active_*_total gauges are the only findings, and they are not ours to rename.
    const problems = lint.out.split('\n').filter((l) => l.trim() && !l.startsWith('nodejs_active_'));
    expect(problems).toEqual([]);
  });

  test('every metric the alert rules use is one Marina exports', async () => {
    const rules = fs.readFileSync(path.join(DEPLOY, 'prometheus/alerts.yml'), 'utf8');
    const used = new Set([...rules.matchAll(/\b(marina_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, '')));
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of used) expect({ name, exported: text.includes(`# TYPE ${name} `) }).toEqual({ name, exported: true });
  });
});

describe('systemd unit', () => {
  test('passes systemd-analyze verify, reloads with SIGHUP and runs the serve command', async () => {
    const unit = fs.readFileSync(path.join(DEPLOY, 'marina.service'), 'utf8');
    expect(unit).toContain('ExecReload=/bin/kill -HUP $MAINPID');
    expect(unit).toMatch(/^ExecStart=\/opt\/marina\/node_modules\/\.bin\/bun \/opt\/marina\/src\/cli\/main\.ts serve$/m);
    // Verified where this checkout stands in for /opt/marina, so ExecStart names real files.
    const local = path.join(dir, 'marina.service');
    fs.writeFileSync(local, unit.replaceAll('/opt/marina/', `${ROOT}/`));
    const r = await sh(['systemd-analyze', 'verify', local]);
    expect(r.out.trim()).toBe('');
    expect(r.code).toBe(0);
  });

  test('its environment is a valid Marina configuration', () => {
    const unit = fs.readFileSync(path.join(DEPLOY, 'marina.service'), 'utf8');
    const env: Record<string, string> = {};
    for (const line of unit.split('\n').filter((l) => l.startsWith('Environment='))) {
      for (const pair of line.slice('Environment='.length).split(' ')) env[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1);
    }
    delete env.MARINA_CONFIG;
    const config = serveConfig([], env);
    expect(config).toMatchObject({ host: '0.0.0.0', port: 5000, data: '/var/lib/marina', accessLog: true, logFormat: 'json' });
    expect(resolveConfig(readConfigFile(path.join(DEPLOY, 'marina.toml'))).notifications!.endpoints[0]!.name).toBe('ci');
  });
});

describe('Dockerfile', () => {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

  test('runs as a non-root user with the data directory as a volume and a HEALTHCHECK on /healthz', () => {
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(finalStage).toMatch(/^USER marina$/m);
    expect(finalStage).toMatch(/^RUN useradd --system --uid 10001 /m);
    expect(finalStage).toMatch(/^VOLUME \/var\/lib\/marina$/m);
    expect(finalStage).toContain('MARINA_DATA=/var/lib/marina');
    expect(finalStage).toMatch(/^HEALTHCHECK .*\\\n\s+CMD \[.*\/healthz/m);
  });

  test('its HEALTHCHECK command passes against a live server and fails against a dead port', async () => {
    const m = /^HEALTHCHECK[^\n]*\\\n\s+CMD (\[.*\])$/m.exec(dockerfile);
    expect(m).not.toBeNull();
    const argv = JSON.parse(m![1]!) as string[];
    expect(argv[0]).toBe('/app/node_modules/.bin/bun');
    const probe = async (port: number) => {
      const proc = Bun.spawn([process.execPath, ...argv.slice(1)], { env: { ...process.env, MARINA_PORT: String(port) }, stdout: 'ignore', stderr: 'ignore' });
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    };
    expect(await probe(server.port)).toBe(0);
    expect(await probe(await freePort())).toBe(1);
  });

  test('its HEALTHCHECK command probes over HTTPS when the server runs with TLS', async () => {
    const argv = JSON.parse(/^HEALTHCHECK[^\n]*\\\n\s+CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    const certs = await makeCertificates(path.join(dir, 'tls'));
    const tls = await startServer(path.join(dir, 'tls-data'), ['--tls-cert', certs.serverCert, '--tls-key', certs.serverKey]);
    try {
      expect(tls.url).toStartWith('https://');
      const probe = async (env: Record<string, string>) => {
        const proc = Bun.spawn([process.execPath, ...argv.slice(1)], { env: { ...process.env, MARINA_PORT: String(tls.port), ...env }, stdout: 'ignore', stderr: 'ignore' });
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        const code = await proc.exited;
        clearTimeout(timer);
        return code;
      };
      expect(await probe({ MARINA_TLS_CERT: certs.serverCert })).toBe(0);
      expect(await probe({})).toBe(1);
    } finally {
      await tls.stop('SIGKILL');
    }
  });
});

describe('CI snippets', () => {
  test('the GitHub Actions workflow runs Marina as a service whose settings Marina accepts', () => {
    const wf = Bun.YAML.parse(fs.readFileSync(path.join(DEPLOY, 'ci/github-actions.yml'), 'utf8')) as any;
    const service = wf.jobs.build.services.marina;
    expect(service.ports).toEqual(['5000:5000']);
    expect(service.options).toContain('--health-interval');
    const config = serveConfig([], service.env);
    expect(config).toMatchObject({ mirrors: [{ name: 'docker.io', url: 'https://registry-1.docker.io' }], cacheMax: 20 * 1024 ** 3, accessLog: false });
    const steps = wf.jobs.build.steps.map((s: any) => s.run ?? '').join('\n');
    expect(steps).toContain('localhost:5000/docker.io/library/alpine');
  });

  test('the GitLab CI job points dind at the Marina service, whose settings Marina accepts', () => {
    const ci = Bun.YAML.parse(fs.readFileSync(path.join(DEPLOY, 'ci/gitlab-ci.yml'), 'utf8')) as any;
    const [marina, dind] = ci.build.services;
    expect(marina.alias).toBe('marina');
    expect(serveConfig([], marina.variables)).toMatchObject({ mirrors: [{ name: 'docker.io' }], cacheMax: 20 * 1024 ** 3 });
    expect(dind.command).toContain('--registry-mirror=http://marina:5000');
    expect(ci.build.variables.FF_NETWORK_PER_BUILD).toBe('true');
    expect(ci.build.before_script.join('\n')).toContain('http://marina:5000/readyz');
  });
});
