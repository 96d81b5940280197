/**
 * The node-shared locks on a real PostgreSQL cluster started here: the Locks contract, with real second processes.
 * Fails (never skips) when PostgreSQL is not installed: `bash .ci/install-tools.sh postgres`.
 */
import * as path from 'node:path';
import { openPg } from '../../src/storage/pg-connect.ts';
import { PgLocks } from '../../src/storage/pg-locks.ts';
import { migrate } from '../../src/storage/pg-migrations.ts';
import { postgresForThisFile } from '../support/postgres.ts';
import { locksContract } from './locks.contract.ts';

const pg = postgresForThisFile();

locksContract('PgLocks (many nodes)', async () => {
  const url = await pg().createDatabase();
  const sql = openPg({ url, max: 4 });
  await migrate(sql);
  const peerScript = path.join(import.meta.dir, '../support/lock-peer.ts');
  return {
    locks: new PgLocks(sql, () => sql.close({ timeout: 1 })),
    peer: ({ key, leaseMs, holdMs, rounds }) => [process.execPath, peerScript, url, key, String(leaseMs), String(holdMs), String(rounds)],
  };
}, { crossProcess: true });
