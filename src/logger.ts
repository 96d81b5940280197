/** Structured logs: one JSON object per line on stderr, with a level filter. */

/** Log levels, from most to least verbose. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** A leveled logger; `fields` become JSON properties. */
export interface Logger {
  level: LogLevel;
  /** Line format; may change while running (live reload). */
  format?: LogFormat;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** True when messages of `level` are written (to skip building expensive fields). */
  enabled(level: LogLevel): boolean;
}

/** True for a valid level name. */
export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(RANK, value);
}

/** How log lines look: JSON objects (for collectors) or `time LEVEL msg key=value` (for people). */
export type LogFormat = 'json' | 'text';

/** A logger writing lines to `sink` (stderr by default). */
export function createLogger(
  level: LogLevel = 'info',
  format: LogFormat = 'json',
  sink: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const log = (at: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (RANK[at] < RANK[logger.level]) return;
    const time = new Date().toISOString();
    sink(logger.format !== 'text' ? `${JSON.stringify({ ...fields, time, level: at, msg }, errorReplacer)}\n` : textLine(time, at, msg, fields));
  };
  const logger: Logger = {
    level,
    format,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    enabled: (at) => RANK[at] >= RANK[logger.level],
  };
  return logger;
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

function textLine(time: string, level: LogLevel, msg: string, fields: Record<string, unknown> = {}): string {
  const pairs = Object.entries(fields).map(([k, v]) => {
    const text = typeof v === 'string' ? v : JSON.stringify(v, errorReplacer);
    return `${k}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`;
  });
  return `${time} ${level.toUpperCase().padEnd(5)} ${msg}${pairs.length ? ` ${pairs.join(' ')}` : ''}\n`;
}

/** `url` as logs and pages may show it: without a user name and password written into it. */
export function withoutCredentials(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
  if (!parsed.username && !parsed.password) return url;
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}
