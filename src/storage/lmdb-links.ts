/**
 * The value of a blob link in the LMDB index: `[linkedAt, size]`, so a blob GET needs one index read and no stat.
 * Links written before sizes were kept hold only the time in ms (or `true`, older still); both still read.
 */

/** A stored link value. */
export type LinkValue = readonly [linkedAt: number, size: number] | number | true;

/** The value for a link made (or refreshed) at `at`; without a size, only the time is kept. */
export function linkValue(at: number, size: number | undefined): LinkValue {
  return size === undefined ? at : [at, size];
}

/** When the link was made or last refreshed (0 when unknown). */
export function linkTime(value: LinkValue): number {
  return typeof value === 'number' ? value : value === true ? 0 : value[0];
}

/** The blob's size, when the link records it. */
export function linkSize(value: LinkValue | undefined): number | undefined {
  return Array.isArray(value) ? value[1] : undefined;
}
