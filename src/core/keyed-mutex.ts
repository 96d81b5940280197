/** Serialises async work per key (one upload session, one digest) without a global lock. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` after every earlier `run` with the same key has settled. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(fn, fn);
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /**
   * Runs `fn` only if nothing holds or waits for `key`; otherwise returns `{ ran: false }` at once. For housekeeping
   * (the idle purge) that must never queue behind a request whose client is slow.
   */
  async tryRun<T>(key: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    // The check and `run`'s registration happen in the same synchronous step, so no other caller slips in between.
    if (this.tails.has(key)) return { ran: false };
    return { ran: true, value: await this.run(key, fn) };
  }

  /** Whether work for `key` is running or queued. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }
}
