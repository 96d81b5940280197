import { describe, expect, test } from 'bun:test';
import { parseContentRange, parseRangeHeader } from '../../src/oci/range.ts';

describe('Range header of blob reads', () => {
  test.each([
    ['bytes=500-1499', 2048, { start: 500, end: 1499 }],
    ['bytes=500-', 2048, { start: 500, end: 2047 }],
    ['bytes=-500', 2048, { start: 1548, end: 2047 }],
    ['bytes=2000-5000', 2048, { start: 2000, end: 2047 }],
    ['bytes=0-0', 2048, { start: 0, end: 0 }],
    ['bytes=2047-2047', 2048, { start: 2047, end: 2047 }],
    ['bytes=-5000', 2048, { start: 0, end: 2047 }],
    ['BYTES=1-2', 10, { start: 1, end: 2 }],
    ['bytes= 1 - 2 ', 10, { start: 1, end: 2 }],
    ['bytes=0-99999999999999999999', 10, { start: 0, end: 9 }],
  ])('reads %s of a %d-byte blob as a partial range', (header, size, range) => {
    expect(parseRangeHeader(header, size)).toEqual({ kind: 'partial', range });
  });

  test.each([
    ['no header', null],
    ['an empty header', ''],
    ['another unit', 'items=0-1'],
    ['several ranges', 'bytes=0-1,5-6'],
  ])('serves the whole blob for %s', (_what, header) => {
    expect(parseRangeHeader(header, 2048)).toEqual({ kind: 'full' });
  });

  test.each([
    ['an inverted range', 'bytes=500-0', 2048],
    ['a start past the end', 'bytes=5000-10000', 2048],
    ['a start at the end', 'bytes=2048-', 2048],
    ['a zero-length suffix', 'bytes=-0', 2048],
    ['a suffix of an empty blob', 'bytes=-1', 0],
    ['any start in an empty blob', 'bytes=0-', 0],
    ['neither start nor end', 'bytes=-', 2048],
    ['garbage after the unit', 'bytes=abc', 2048],
    ['a negative start', 'bytes=--5', 2048],
    ['a start beyond a safe integer', 'bytes=99999999999999999999-', 2048],
  ])('refuses %s as unsatisfiable', (_what, header, size) => {
    expect(parseRangeHeader(header, size)).toEqual({ kind: 'unsatisfiable' });
  });
});

describe('Content-Range of upload chunks', () => {
  test.each([
    ['0-99', { start: 0, end: 99 }],
    ['100-100', { start: 100, end: 100 }],
    ['bytes 0-99', { start: 0, end: 99 }],
    ['bytes=0-99', { start: 0, end: 99 }],
    ['bytes 0-99/100', { start: 0, end: 99 }],
    ['bytes 0-99/*', { start: 0, end: 99 }],
    [' 5 - 9 ', { start: 5, end: 9 }],
  ])('reads %s', (header, range) => {
    expect(parseContentRange(header)).toEqual(range);
  });

  test.each([
    ['an inverted range', '10-5'],
    ['a missing end', '0-'],
    ['a missing start', '-5'],
    ['an empty value', ''],
    ['a negative number', '-1-5'],
    ['letters', 'a-b'],
    ['another unit', 'items 0-5'],
    ['a number beyond a safe integer', '0-99999999999999999999'],
    ['two ranges', '0-1,2-3'],
  ])('rejects %s', (_what, header) => {
    expect(parseContentRange(header)).toBeUndefined();
  });
});
