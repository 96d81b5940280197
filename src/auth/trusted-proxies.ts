/**
 * The client behind reverse proxies. Behind a proxy every request comes from the proxy's address, so per-address
 * rate limits and logs would lump all clients together; the proxy names the client in `X-Forwarded-For`. That header
 * is only believed from peers configured as proxies (anyone can send it), and only its entries that those proxies
 * appended: walking from the right, the first address that is not a trusted proxy is the client.
 */

/** One address range: IPv4 or IPv6 as a 128-bit number (IPv4 mapped into ::ffff:0:0/96) and a prefix length. */
interface Range {
  base: bigint;
  bits: number;
}

/** Longest X-Forwarded-For read, and most hops walked: bounded work for any header. */
const MAX_HEADER = 2048;
const MAX_HOPS = 32;
const V4_MAPPED = 0xffffn << 32n;

/** Parses an IPv4 or IPv6 address (IPv4-mapped forms included) into a 128-bit number; undefined when invalid. */
export function parseIp(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  if (!text.includes(':')) {
    const v4 = parseV4(text);
    return v4 === undefined ? undefined : V4_MAPPED | v4;
  }
  let head = text;
  let tail: bigint[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // ::ffff:1.2.3.4 and friends: the last 32 bits written as IPv4.
    const v4 = parseV4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
    tail = [v4];
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  let value = 0n;
  for (const group of [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  if (tail.length) value = (value & ~0xffffffffn) | tail[0]!;
  return value;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

/** Parses `10.0.0.0/8`, `fd00::/8` or a single address; throws with the offending entry when invalid. */
function parseRange(text: string): Range {
  const [address, prefix, extra] = text.trim().split('/');
  const base = parseIp(address ?? '');
  const v4 = !address!.includes(':');
  const max = v4 ? 32 : 128;
  const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  if (base === undefined || extra !== undefined || !(bits >= 0 && bits <= max)) throw new Error(`invalid trusted proxy "${text.slice(0, 64)}" (use an address or CIDR range, e.g. 10.0.0.0/8)`);
  const width = v4 ? bits + 96 : bits;
  const mask = width === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - width)) - 1n);
  return { base: base & mask, bits: width };
}

/** The proxies whose `X-Forwarded-For` Marina believes. */
export class TrustedProxies {
  private readonly ranges: Range[];

  /** @param cidrs addresses or CIDR ranges (IPv4 or IPv6) @throws Error naming an invalid entry */
  constructor(cidrs: readonly string[]) {
    this.ranges = cidrs.filter((c) => c.trim() !== '').map(parseRange);
  }

  /** True when `address` is one of the proxies. */
  has(address: string): boolean {
    const ip = parseIp(address);
    if (ip === undefined) return false;
    return this.ranges.some((r) => r.bits === 0 || ip >> BigInt(128 - r.bits) === r.base >> BigInt(128 - r.bits));
  }

  /**
   * The client's address: the peer itself unless it is a trusted proxy; then, from the right of `forwardedFor`, the
   * first entry that is not a trusted proxy (the last trusted hop when the header is missing, invalid or all proxies).
   */
  clientOf(peer: string | undefined, forwardedFor: string | null): string | undefined {
    if (peer === undefined || forwardedFor === null || !this.has(peer)) return peer;
    // Proxies append on the right: a header longer than the cap keeps its right end, the part they wrote.
    const text = forwardedFor.length > MAX_HEADER ? forwardedFor.slice(-MAX_HEADER) : forwardedFor;
    const hops = text.split(',');
    if (forwardedFor.length > MAX_HEADER) hops.shift();
    let client = peer;
    for (let i = hops.length - 1, walked = 0; i >= 0 && walked < MAX_HOPS; i--, walked++) {
      const hop = hops[i]!.trim();
      if (parseIp(hop) === undefined) return client;
      client = hop;
      if (!this.has(hop)) return client;
    }
    return client;
  }
}
