/**
 * Any OCI registry as a benchmark target (`marina bench <url>`): nothing to start or stop, seeded over the
 * Distribution API with Marina's client, credentials answered with Basic or the Bearer token flow.
 */
import { Authenticator, type Credentials } from '../../src/client/auth.ts';
import { RegistryClient } from '../../src/client/client.ts';
import type { DataSet } from '../data/dataset.ts';
import type { Feature, Target } from '../targets/types.ts';

/** How to reach the registry. */
export interface RemoteOptions {
  url: string;
  credentials?: Credentials;
  /** Token realm hosts that may receive the credentials, besides the registry's own host. */
  trustedRealmHosts?: string[];
  /** Repositories the run touches, with the actions it needs (for a Bearer token's scope). */
  scopes: { repository: string; actions: ('pull' | 'push')[] }[];
}

/** A registry somewhere else: its pid is 0 (no server cost is measured), and it is never restarted. */
export class RemoteTarget implements Target {
  readonly id = 'remote';
  readonly role = 'subject' as const;
  readonly label: string;
  readonly version = 'remote';
  readonly notes: string[] = [];
  readonly features: ReadonlySet<Feature> = new Set<Feature>(['blob-get', 'range', 'manifest', 'push', 'image-push', 'tags', 'referrers']);
  readonly headers: Record<string, string> = {};
  readonly baseUrl: string;
  readonly pid = 0;
  private readonly auth: Authenticator;
  private readonly scope: string;
  private needsAuth: boolean | undefined;

  constructor(private readonly options: RemoteOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    const url = new URL(this.baseUrl);
    this.label = url.host;
    const trusted = [url.host, ...(options.trustedRealmHosts ?? [])];
    this.auth = new Authenticator(options.credentials, fetch, trusted);
    this.scope = options.scopes.map((s) => `repository:${s.repository}:${s.actions.join(',')}`).join(' ');
    this.notes.push(options.credentials ? `as ${options.credentials.username}` : 'anonymous');
  }

  /** A client with the same credentials, for seeding and discovery. */
  client(): RegistryClient {
    const trusted = [new URL(this.baseUrl).host, ...(this.options.trustedRealmHosts ?? [])];
    return new RegistryClient({ registry: this.baseUrl, credentials: this.options.credentials, trustedRealmHosts: trusted, userAgent: 'marina-bench' });
  }

  /** Gets (or renews) the Authorization header: none for an open registry, Basic, or a Bearer token for every scope. */
  async refreshAuth(): Promise<void> {
    if (this.needsAuth === false) return;
    const cached = this.auth.cached(this.scope);
    if (cached) {
      this.headers.Authorization = cached;
      return;
    }
    const res = await fetch(`${this.baseUrl}/v2/`, { signal: AbortSignal.timeout(15_000) });
    await res.arrayBuffer();
    if (res.status === 200) {
      this.needsAuth = false;
      delete this.headers.Authorization;
      this.noteAuth('none (GET /v2/ answered 200)');
      return;
    }
    const challenge = res.headers.get('www-authenticate');
    if (res.status !== 401 || !challenge) throw new Error(`GET /v2/ answered ${res.status}${challenge ? '' : ' without a challenge'}`);
    this.needsAuth = true;
    const header = await this.auth.answer(challenge, this.scope, new URL(this.baseUrl).host);
    if (!header) throw new Error(`could not authenticate (${this.options.credentials ? 'credentials refused' : 'no credentials given'}; challenge: ${challenge.slice(0, 200)})`);
    // A Basic challenge on /v2/ proves nothing yet: check that the credentials are accepted.
    const check = await fetch(`${this.baseUrl}/v2/`, { headers: { Authorization: header }, signal: AbortSignal.timeout(15_000) });
    await check.arrayBuffer();
    if (check.status !== 200) throw new Error(`credentials refused: GET /v2/ answered ${check.status}`);
    this.headers.Authorization = header;
    this.noteAuth(header.startsWith('Bearer ') ? 'Bearer token' : 'Basic');
  }

  /** Records, once, how the registry authenticated the run (for the report). */
  private noteAuth(how: string): void {
    if (!this.notes.some((n) => n.startsWith('auth: '))) this.notes.push(`auth: ${how}`);
  }

  /** Pushes the data set (blobs the registry lacks, then every manifest); bounded by the registry's answers. */
  async seed(data: DataSet): Promise<void> {
    const client = this.client();
    for (const blob of [...data.getBlobs, ...data.small]) {
      if ((await client.headBlob(blob.repo, blob.digest)) !== undefined) continue;
      const bytes = blob.bytes ?? new Uint8Array(await Bun.file(blob.file!).arrayBuffer());
      await client.pushBlob(blob.repo, bytes, blob.digest);
    }
    // Referrers update the tag-schema fallback index on registries without the API: those go one at a time.
    const plain = data.manifests.filter((m) => !m.subject);
    for (let i = 0; i < plain.length; i += 8) {
      await Promise.all(plain.slice(i, i + 8).map((m) => client.putManifest(m.repo, m.tags[0] ?? m.digest, m.bytes, m.mediaType)));
    }
    for (const m of data.manifests.filter((x) => x.subject)) await client.putManifest(m.repo, m.digest, m.bytes, m.mediaType);
  }

  async start(): Promise<number> {
    const t0 = performance.now();
    await this.refreshAuth();
    return performance.now() - t0;
  }

  async stop(): Promise<void> {}

  /** A remote registry keeps what was pushed (deleting blobs is not part of the API every registry offers). */
  forgetBlobs(): void {}

  forgetUploads(): void {}
}
