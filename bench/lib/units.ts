/** Byte sizes and human-readable formatting of sizes, rates and durations. */

/** One kibibyte. */
export const KiB = 1024;
/** One mebibyte. */
export const MiB = 1024 * KiB;
/** One gibibyte. */
export const GiB = 1024 * MiB;

/** A size as "1 KiB", "64 MiB", "1 GiB" (exact binary multiples), else bytes. */
export function sizeLabel(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} B`;
}

/** A compact size for identifiers: "1k", "64m", "1g". */
export function sizeId(bytes: number): string {
  return sizeLabel(bytes).replace(/ ([KMG])iB$/, (_, u: string) => u.toLowerCase()).replace(/ B$/, 'b');
}

/** A number with three significant digits and a thousands separator above 1000. */
export function num(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Seconds as "850 ms" or "12.3 s". */
export function duration(seconds: number): string {
  return seconds < 1 ? `${(seconds * 1000).toFixed(0)} ms` : `${seconds.toFixed(1)} s`;
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
