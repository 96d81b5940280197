/**
 * The PostgreSQL stores pass the shared storage contracts, as the built-in stores do: MetadataIndex (with its blob
 * lifecycle part), UploadLedger and MirrorLedger, each with a second instance on its own pool (another node's view).
 * One throwaway cluster for the file, a fresh database per test. Fails (never skips) when PostgreSQL is not
 * installed: `bash .ci/install-tools.sh postgres`.
 */
import type { SQL } from 'bun';
import { openPg } from '../../src/storage/pg-connect.ts';
import { PgIndex } from '../../src/storage/pg-index.ts';
import { migrate } from '../../src/storage/pg-migrations.ts';
import { PgMirrorLedger } from '../../src/storage/pg-mirror-ledger.ts';
import { PgUploadLedger } from '../../src/storage/pg-upload-ledger.ts';
import { postgresForThisFile } from '../support/postgres.ts';
import { metadataIndexContract } from './metadata-index.contract.ts';
import { mirrorLedgerContract } from './mirror-ledger.contract.ts';
import { uploadLedgerContract } from './upload-ledger.contract.ts';

const pg = postgresForThisFile();

/** A migrated database, and a way to open pools on it (each store closes its own). */
async function database(): Promise<{ url: string; pool: () => SQL }> {
  const url = await pg().createDatabase();
  const first = openPg({ url, max: 2 });
  await migrate(first);
  await first.close({ timeout: 1 });
  return { url, pool: () => openPg({ url, max: 4 }) };
}

metadataIndexContract('PgIndex', async () => ({ index: await PgIndex.open({ url: (await database()).url, max: 4 }) }));

uploadLedgerContract('PgUploadLedger', async () => {
  const { pool } = await database();
  const open = () => {
    const sql = pool();
    return new PgUploadLedger(sql, () => sql.close({ timeout: 1 }));
  };
  return { ledger: open(), another: open };
}, { shared: true });

mirrorLedgerContract('PgMirrorLedger', async () => {
  const { pool } = await database();
  const open = () => {
    const sql = pool();
    return new PgMirrorLedger(sql, () => sql.close({ timeout: 1 }));
  };
  return { ledger: open(), another: open };
}, { shared: true });
