/**
 * A small read cache in front of the index's hottest lookups (tag → digest, digest → manifest record). Any write
 * through this process clears it; entries also expire after `ttlMs`, which bounds how stale a read can be when
 * another process (`marina gc`, `marina cache prune`) writes the same index.
 */

/** A map with a byte budget (oldest insertions evicted first) and a time-to-live. */
export class ReadCache<V> {
  private readonly entries = new Map<string, { value: V; at: number; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly ttlMs: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  /** The cached value, or undefined when absent or expired. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (Date.now() - entry.at > this.ttlMs) {
      this.delete(key);
      return undefined;
    }
    // No re-insert on a hit (it cost a tenth of a cached manifest HEAD): eviction is by insertion order, and every
    // entry is re-read from the store after ttlMs anyway, so a hot entry never stays the oldest for long.
    return entry.value;
  }

  set(key: string, value: V): void {
    const bytes = this.sizeOf(value) + key.length;
    if (bytes > this.maxBytes / 8) return;
    this.delete(key);
    this.entries.set(key, { value, at: Date.now(), bytes });
    this.bytes += bytes;
    for (const [oldest] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.delete(oldest);
    }
  }

  /** Forgets everything (after any write). */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  /** Forgets one entry. */
  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}
