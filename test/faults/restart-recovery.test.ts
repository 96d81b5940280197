/**
 * Start-up after a crash: partial files in `uploads/` that no open session claims (temporary puts, mirror spools,
 * sessions never recorded) are removed before the server takes requests; sessions the upload ledger holds survive
 * the restart and can be finished; ledger entries whose file is gone are forgotten.
 */
import { afterAll, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestOf } from '../../src/oci/digest.ts';
import { randomBytes } from '../helpers/client.ts';
import { clientOf, expectConsistent, FaultBed, kill, statusOf } from './support.ts';

const bed = new FaultBed();
afterAll(() => bed.cleanup());

test('a restart sweeps crash leftovers from uploads/ and keeps every open session resumable', async () => {
  const root = bed.dir();
  let server = await bed.serve(root);
  let c = clientOf(server);
  const first = randomBytes(50_000);
  const open = new URL(await c.startUpload('recover/app')).pathname;
  expect(await statusOf(c, 'PATCH', open, first, { 'content-range': `0-${first.byteLength - 1}` })).toBe(202);
  const lost = new URL(await c.startUpload('recover/app')).pathname;
  await kill(server);

  const uploads = path.join(root, 'uploads');
  const leftovers = [`put-${crypto.randomUUID()}`, crypto.randomUUID(), `sha256-${'ab'.repeat(32)}-${crypto.randomUUID()}`];
  for (const name of leftovers) fs.writeFileSync(path.join(uploads, name), randomBytes(1000));
  fs.rmSync(path.join(uploads, path.basename(lost)));

  server = await bed.serve(root);
  c = clientOf(server);
  expect(server.stderr()).toMatch(/removed partial uploads left by an earlier run.*partialFiles=3.*staleSessions=1/);
  expect(fs.readdirSync(uploads)).toEqual([path.basename(open)]);

  const state = await c.get(open);
  expect(state.status).toBe(204);
  expect(state.headers.get('range')).toBe(`0-${first.byteLength - 1}`);
  const rest = randomBytes(1000);
  const all = new Uint8Array([...first, ...rest]);
  expect(await statusOf(c, 'PUT', `${open}?digest=${digestOf(all)}`, rest, { 'content-range': `${first.byteLength}-${all.byteLength - 1}` })).toBe(201);
  expect((await c.get(lost)).status).toBe(404);
  await kill(server);
  expect(await expectConsistent(root)).toContain('garbage: none');
}, 30_000);
