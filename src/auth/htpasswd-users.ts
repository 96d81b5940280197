/**
 * Users from an Apache htpasswd file (bcrypt lines `user:$2y$…`), verified with `Bun.password`. Bcrypt is slow
 * on purpose, so a successful check is remembered for a short time (bounded, keyed by a hash of the password,
 * never the password itself); an unknown user costs one bcrypt check too, so timing does not tell who exists.
 */
import * as fs from 'node:fs';

/** Options of {@link htpasswdUsers}. */
export interface HtpasswdUsersOptions {
  /** An htpasswd file to read. */
  file?: string;
  /** htpasswd text given directly (instead of, or in addition to, `file`). */
  text?: string;
  /** How long a successful check is remembered. @default 60 000 ms */
  cacheTtlMs?: number;
  /** Most remembered checks. @default 1000 */
  cacheMax?: number;
}

/** A user store that checks passwords. */
export interface HtpasswdUsers {
  /** True when `password` is right for `user`. */
  verify(user: string, password: string): Promise<boolean>;
  /** Number of users loaded. */
  readonly size: number;
}

const MAX_PASSWORD = 1024;
const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

/** Loads users from htpasswd text. @throws on lines that are not `user:bcrypt-hash` */
export function htpasswdUsers(options: HtpasswdUsersOptions): HtpasswdUsers {
  const hashes = new Map([
    ...(options.file ? parseHtpasswd(fs.readFileSync(options.file, 'utf8'), options.file) : []),
    ...(options.text ? parseHtpasswd(options.text) : []),
  ]);
  const ttl = options.cacheTtlMs ?? 60_000;
  const max = options.cacheMax ?? 1000;
  // key → expiry; Map keeps insertion order, so the oldest entry is evicted first.
  const remembered = new Map<string, number>();
  // A real hash of a random password: checking unknown users against it takes as long as a real check.
  const decoy = Bun.password.hash(crypto.randomUUID(), { algorithm: 'bcrypt', cost: costOf(hashes) });

  return {
    size: hashes.size,
    async verify(user, password) {
      if (password.length > MAX_PASSWORD || user.length > 256) return false;
      const hash = hashes.get(user);
      const key = `${user}\0${new Bun.CryptoHasher('sha256').update(password).update(hash ?? '').digest('hex')}`;
      const until = remembered.get(key);
      if (until !== undefined && until > Date.now()) return true;
      if (hash === undefined) {
        await bcryptVerify(password, await decoy);
        return false;
      }
      const ok = await bcryptVerify(password, hash);
      if (ok && ttl > 0 && max > 0) {
        remembered.delete(key);
        if (remembered.size >= max) remembered.delete(remembered.keys().next().value!);
        remembered.set(key, Date.now() + ttl);
      }
      return ok;
    },
  };
}

/**
 * Checks a password against a bcrypt hash. Bcrypt reads at most 72 bytes, and Apache's `htpasswd -B` hashes just
 * those of a longer password, whereas Bun pre-hashes a longer one: so a long password is also tried cut to 72 bytes.
 */
async function bcryptVerify(password: string, hash: string): Promise<boolean> {
  if (await Bun.password.verify(password, hash).catch(() => false)) return true;
  const bytes = Buffer.from(password, 'utf8');
  return bytes.byteLength > 72 && Bun.password.verify(bytes.subarray(0, 72), hash).catch(() => false);
}

/** Reads `user:hash` lines; blank lines and `#` comments are skipped. */
export function parseHtpasswd(text: string, where = 'htpasswd'): Map<string, string> {
  const users = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    // Only the line number in errors: a line holds a hash, which does not belong in logs.
    if (colon <= 0) throw new Error(`${where}:${i + 1}: expected user:hash`);
    if (!BCRYPT.test(hash)) throw new Error(`${where}:${i + 1}: user "${user.slice(0, 64)}" has no bcrypt hash (create it with htpasswd -B)`);
    users.set(user, hash);
  });
  return users;
}

function costOf(hashes: Map<string, string>): number {
  const first = hashes.values().next().value;
  const cost = first ? Number(first.slice(4, 6)) : 10;
  return Math.min(Math.max(cost, 4), 31);
}
