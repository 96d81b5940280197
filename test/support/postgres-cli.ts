/**
 * A throwaway PostgreSQL cluster for shell scripts (the conformance runs): starts one (see postgres.ts), creates a
 * database, prints its URL as the first line on stdout, and stops and removes the cluster on SIGTERM/SIGINT or when
 * stdin closes (the script that started it went away).
 * Usage: coproc bun test/support/postgres-cli.ts; read -r URL <&"${COPROC[0]}"
 */
import { startPostgres } from './postgres.ts';

const pg = await startPostgres();
const url = await pg.createDatabase();
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await pg.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(`${url}\n`);
// Stdin closes when the parent exits (a coprocess's pipe): nothing is left running behind it.
for await (const _ of Bun.stdin.stream()) {
  // Input is ignored; only its end matters.
}
await stop();
