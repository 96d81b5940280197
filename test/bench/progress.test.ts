/** Progress on stderr: a bar redrawn in place on a terminal, plain lines elsewhere, nothing left behind at the end. */
import { afterEach, expect, test } from 'bun:test';
import { Progress } from '../../bench/lib/progress.ts';

const write = process.stderr.write.bind(process.stderr);
let captured = '';
const capture = () => {
  captured = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    captured += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
    return true;
  }) as typeof process.stderr.write;
};
afterEach(() => {
  process.stderr.write = write;
});

test('on a terminal, steps redraw one bar in place and notes print above it; after finish nothing is redrawn', () => {
  capture();
  const p = new Progress(4, true);
  p.step('first');
  p.note('a note');
  p.step('second');
  p.finish();
  p.note('done');
  process.stderr.write = write;
  expect(captured).toContain('\r\x1b[K[############------------] 2/4');
  expect(captured).toContain('[bench 00:00] a note\n');
  expect(captured).not.toContain('first\n');
  expect(captured.endsWith('[bench 00:00] done\n')).toBe(true);
});

test('elsewhere (CI logs, pipes), every step is one line with its count', () => {
  capture();
  const p = new Progress(2, false);
  p.step('first');
  p.skip(1);
  p.finish();
  process.stderr.write = write;
  expect(captured).toBe('[bench 00:00 1/2] first\n');
});
