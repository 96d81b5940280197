import { describe, expect, test } from 'bun:test';
import { createLogger, isLogLevel } from '../../src/logger.ts';

function capture(level: Parameters<typeof createLogger>[0], format: Parameters<typeof createLogger>[1] = 'json') {
  const lines: string[] = [];
  return { lines, logger: createLogger(level, format, (line) => lines.push(line)) };
}

describe('logger', () => {
  test('writes one JSON object per line with time, level, message and fields', () => {
    const { lines, logger } = capture('info');
    logger.info('pushed', { repository: 'a/b', size: 3 });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(lines[0]!.slice(0, -1)).not.toContain('\n');
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: 'info', msg: 'pushed', repository: 'a/b', size: 3 });
    expect(new Date(entry.time).toISOString()).toBe(entry.time);
  });

  test('drops messages below its level and writes those at or above it', () => {
    const { lines, logger } = capture('warn');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['w', 'e']);
  });

  test('writes nothing at level silent', () => {
    const { lines, logger } = capture('silent');
    logger.error('e');
    expect(lines).toEqual([]);
    expect(logger.enabled('error')).toBe(false);
  });

  test('reports which levels are enabled and follows a level changed at run time', () => {
    const { lines, logger } = capture('info');
    expect(logger.enabled('debug')).toBe(false);
    expect(logger.enabled('info')).toBe(true);
    logger.level = 'debug';
    expect(logger.enabled('debug')).toBe(true);
    logger.debug('now visible');
    expect(lines).toHaveLength(1);
  });

  test('serialises errors with name, message and stack', () => {
    const { lines, logger } = capture('info');
    logger.error('failed', { error: new TypeError('boom') });
    const entry = JSON.parse(lines[0]!);
    expect(entry.error.name).toBe('TypeError');
    expect(entry.error.message).toBe('boom');
    expect(entry.error.stack).toContain('boom');
  });

  test('writes text lines as time, padded level, message and key=value pairs, quoting values that need it', () => {
    const { lines, logger } = capture('info', 'text');
    logger.warn('slow request', { path: '/v2/a', note: 'two words', n: 5, obj: { a: 1 } });
    const line = lines[0]!;
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT\S+Z WARN  slow request /);
    expect(line).toContain('path=/v2/a');
    expect(line).toContain('note="two words"');
    expect(line).toContain('n=5');
    expect(line).toContain(`obj=${JSON.stringify('{"a":1}')}`);
    expect(line.endsWith('\n')).toBe(true);
  });

  test('keeps a message with a newline on one text line', () => {
    const { lines, logger } = capture('info', 'text');
    logger.info('x', { detail: 'line1\nline2' });
    expect(lines[0]!.slice(0, -1)).not.toContain('\n');
  });

  test('recognises the level names', () => {
    for (const level of ['debug', 'info', 'warn', 'error', 'silent']) expect(isLogLevel(level)).toBe(true);
    expect(isLogLevel('trace')).toBe(false);
    expect(isLogLevel('')).toBe(false);
  });

  // Names inherited from Object.prototype are not levels.
  test('does not take Object.prototype names for levels', () => {
    expect(isLogLevel('toString')).toBe(false);
    expect(isLogLevel('constructor')).toBe(false);
  });
});
