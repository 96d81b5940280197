/** The mirror's joiner figure: how long a client waits for its first layer byte beyond what the upstream imposes. */
import { expect, test } from 'bun:test';
import { joinerFirstByte } from '../../bench/mirror/bench.ts';

test('a client that asked before the upstream answered is timed from the upstream first byte; one that joined later, from its request', () => {
  const upstream = 1000;
  const clients = [
    { requestAt: 990, firstByteAt: 1004 }, // waiting when the upstream answered: 4 ms
    { requestAt: 995, firstByteAt: 1010 }, // 10 ms
    { requestAt: 1200, firstByteAt: 1230 }, // joined 200 ms into the fetch: 30 ms, not 230
  ];
  expect(joinerFirstByte(clients, upstream)).toEqual({ p50: 10, max: 30 });
});

test('no figure without an upstream byte or without a client that got one', () => {
  expect(joinerFirstByte([{ requestAt: 1, firstByteAt: 2 }], undefined)).toBeUndefined();
  expect(joinerFirstByte([], 5)).toBeUndefined();
});
