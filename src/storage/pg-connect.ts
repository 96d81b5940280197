/**
 * The PostgreSQL connection every PG store shares: one pool (Bun's built-in SQL client) with server-side deadlines
 * on every statement, transactions retried on serialization failures and deadlocks, and the database's clock.
 */
type SQL = Bun.SQL;

/** Options of {@link openPg}. */
export interface PgOptions {
  /** `postgres://user:password@host:port/database` (Bun's SQL URL; `?sslmode=` and the PG* variables also apply). */
  url: string;
  /** Connections in the pool. @default 10 */
  max?: number;
  /**
   * The longest any one statement may run, including its wait for a row lock (ms); past it the statement fails.
   * Nothing a client does can hold a statement longer. @default 30000
   */
  statementTimeoutMs?: number;
}

/** Opens a pool. No connection is made until the first query (the migrations, at start-up). */
export function openPg(options: PgOptions): SQL {
  const statementTimeoutMs = options.statementTimeoutMs ?? 30_000;
  return new Bun.SQL(options.url, {
    max: options.max ?? 10,
    connectionTimeout: 10,
    idleTimeout: 60,
    connection: {
      application_name: 'marina',
      // Acknowledged means committed to the WAL, whatever the server's default says (holds opt out per transaction).
      synchronous_commit: 'on',
      statement_timeout: statementTimeoutMs,
      lock_timeout: statementTimeoutMs,
      // A node that stalls inside a transaction must not keep its row locks: the server ends the session.
      idle_in_transaction_session_timeout: 2 * statementTimeoutMs,
    },
  });
}

/** The SQL of one transaction (what `sql.begin` hands its function). */
export type Tx = SQL;

// SQLSTATEs after which the whole transaction may simply run again: serialization_failure, deadlock_detected.
const RETRYABLE = new Set(['40001', '40P01']);

/**
 * Runs `fn` in one transaction and retries it (a few times, with a short random pause) when PostgreSQL aborted it
 * for a serialization failure or a deadlock; `fn` must therefore have no effects outside the database.
 * With `durable: false` the commit does not wait for the WAL flush (holds and touches: a crash ends them anyway).
 */
export async function transaction<T>(sql: SQL, fn: (tx: Tx) => Promise<T>, options: { durable?: boolean } = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sql.begin(async (tx) => {
        if (options.durable === false) await tx`SET LOCAL synchronous_commit = off`;
        return fn(tx);
      }) as T;
    } catch (error) {
      if (attempt >= 5 || !RETRYABLE.has((error as { errno?: string }).errno ?? '')) throw error;
      await Bun.sleep(Math.random() * 10 * attempt);
    }
  }
}

/** The SQLSTATE of a PostgreSQL error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  return (error as { errno?: string } | undefined)?.errno;
}

/** int8 columns arrive as strings (Bun's default); every value Marina stores fits a double exactly. */
export function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/**
 * Shares one pool between the PG stores of a node: each store gets its own `release` (its `close`), and the pool
 * closes when the last of them is released. Releasing twice counts once.
 */
export function sharedPool(sql: SQL): () => () => Promise<void> {
  let holders = 0;
  return () => {
    holders++;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      if (--holders === 0) await sql.close({ timeout: 5 });
    };
  };
}
