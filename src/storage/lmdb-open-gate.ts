/**
 * Keeps the opening of an LMDB environment apart from other processes' commits to it.
 *
 * Why: lmdb-js 3.5.6 (its LMDB fork, `mdb_env_open2`) stores the newest transaction id it read from the file into
 * the lock file's shared `mti_txnid` on EVERY open, without taking the writer mutex. When that read overlaps a commit
 * in another process, the committed id is set back; the next write transaction then starts from an older meta page
 * and its commit silently drops the transactions in between: acknowledged writes vanish (and writers may fail with
 * `MDB_BAD_TXN`). Measured with lmdb-js alone: 16 writers in one process, other processes opening the environment
 * back to back, 32–112 of ~250k acknowledged commits lost per 12 s run; with this gate, 0 in every run.
 *
 * The gate is a SQLite file beside the environment, used only for its locks (rollback-journal mode): a process
 * holds a SHARED lock while any of its write transactions is in flight (from before it begins until it is flushed),
 * and an opener takes the EXCLUSIVE lock for the duration of `open()`. SQLite's PENDING lock gives the opener
 * priority: once it waits, no new write starts in any process, the ones in flight finish, the opener opens, and
 * writes resume. The kernel drops the locks of a killed process, so a crash never leaves the gate shut.
 */
import { Database } from 'bun:sqlite';
import { RegistryError } from '../errors.ts';

/** How long a write may wait for an opener to finish (ms), and how long an opener may wait for writes to drain. */
const WAIT_MS = 10_000;
/**
 * A busy process may keep its shared lock for this long (ms) before it lets its writes drain and takes the lock
 * anew: the moment an opener waiting behind it gets in. Bounds an opener's wait under continuous writes.
 */
const HOLD_MS = 100;

/**
 * Gate files this process has open writers on. lmdb-js shares one environment per path within a process (a second
 * open finds it before reading anything), so a process re-opening its own environment needs no gate, and must not
 * wait for one: its own writes would hold it shut.
 */
const openHere = new Map<string, number>();

/** The gate of one LMDB environment, for the writes of this process. */
export class LmdbOpenGate {
  private readonly db: Database;
  private inFlight = 0;
  private closed = false;
  private held = false;
  private heldSince = 0;
  private acquiring: Promise<void> | undefined;
  private draining: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(private readonly file: string) {
    this.db = new Database(file, { create: true });
    openHere.set(file, (openHere.get(file) ?? 0) + 1);
    // Writers never block the event loop on the lock: they poll (see acquire).
    this.db.exec('PRAGMA busy_timeout = 0');
  }

  /**
   * Runs `open` while no other process can be committing to the environment. Synchronous, like LMDB's open: the
   * caller is a process starting up. Waits at most 10 s for the writes in flight elsewhere to finish.
   */
  static whileOpening<T>(file: string, open: () => T): T {
    if (openHere.has(file)) return open();
    const db = new Database(file, { create: true });
    try {
      db.exec(`PRAGMA busy_timeout = ${WAIT_MS}`);
      db.exec('BEGIN EXCLUSIVE');
      try {
        return open();
      } finally {
        db.exec('COMMIT');
      }
    } finally {
      db.close();
    }
  }

  /**
   * Enters the gate before a write transaction begins; the returned function leaves it (call it once the commit is
   * flushed: lmdb-js may write the commit's meta page after the transaction's promise resolves). Waits while an
   * opener holds the gate, at most 10 s (then 503).
   */
  async enter(): Promise<() => void> {
    while (this.draining) await this.draining.promise;
    if (!this.held) await (this.acquiring ??= this.acquire().finally(() => (this.acquiring = undefined)));
    this.inFlight++;
    if (!this.draining && performance.now() - this.heldSince > HOLD_MS) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.draining = { promise, resolve };
    }
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.leave();
    };
  }

  /** Releases the gate's file. Call after the environment is closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.held) this.db.exec('COMMIT');
    this.held = false;
    this.db.close();
    const left = (openHere.get(this.file) ?? 1) - 1;
    if (left > 0) openHere.set(this.file, left);
    else openHere.delete(this.file);
  }

  private leave(): void {
    if (--this.inFlight > 0 || this.closed) return;
    this.db.exec('COMMIT');
    this.held = false;
    const draining = this.draining;
    this.draining = undefined;
    draining?.resolve();
  }

  /** Takes the shared lock, polling while an opener holds (or waits for) the exclusive one. */
  private async acquire(): Promise<void> {
    const deadline = performance.now() + WAIT_MS;
    for (;;) {
      try {
        this.db.exec('BEGIN');
        // A read takes the SHARED lock; BEGIN alone takes none.
        this.db.query('SELECT count(*) FROM sqlite_master').get();
        this.held = true;
        this.heldSince = performance.now();
        return;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        if (!isBusy(error)) throw error;
        if (performance.now() > deadline) {
          throw new RegistryError('UNKNOWN', 'the metadata index is being opened by another process; nothing was stored, retry later', {
            status: 503,
            detail: { reason: 'index busy', gate: this.file },
            headers: { 'Retry-After': '5' },
          });
        }
        await Bun.sleep(2);
      }
    }
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'SQLITE_BUSY' || (error instanceof Error && /database is locked/.test(error.message));
}
