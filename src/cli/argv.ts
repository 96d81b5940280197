/** Small argv helpers for commands that take their own flags plus the options of `marina serve`. */

/**
 * Removes `--name value`, `--name=value` (with `hasValue`) or `--name` from argv; returns the value ('' for a flag),
 * or undefined when absent.
 */
export function takeFlag(argv: string[], name: string, hasValue: boolean): string | undefined {
  const i = argv.findIndex((a) => a === name || (hasValue && a.startsWith(`${name}=`)));
  if (i < 0) return undefined;
  const arg = argv[i]!;
  if (arg !== name) {
    argv.splice(i, 1);
    return arg.slice(name.length + 1);
  }
  const value = hasValue ? argv[i + 1] : '';
  if (value === undefined) throw new Error(`${name} needs a value`);
  argv.splice(i, hasValue ? 2 : 1);
  return value;
}
