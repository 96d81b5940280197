/** Number, size and time formatting shared by pages and charts. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '–';
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${UNITS[unit]}`;
}

/** `12345` → `12,345`. */
export function formatCount(n: number | undefined): string {
  return n === undefined ? '–' : n.toLocaleString('en-US');
}

/** ISO 8601 UTC without milliseconds, or a dash for unknown times. */
export function formatTime(ms: number | undefined): string {
  if (!ms) return '–';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace('T', ' ');
}

/** A ratio as a percentage, or a dash when there is nothing to divide. */
export function formatPercent(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(1)} %` : '–';
}

/** `sha256:0123456789abcdef…` → `sha256:0123456789ab`. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return colon < 0 ? digest.slice(0, 19) : digest.slice(0, colon + 13);
}
