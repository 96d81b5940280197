/**
 * Repository names and tags (distribution-spec "Pulling manifests" grammar).
 * Checked on the still percent-encoded request path, so an encoded `/` or `.` can never sneak into a name.
 */
import { RegistryError } from '../errors.ts';
import { isAlnum, isLowerAlnum } from './scan.ts';

/** Longest repository name accepted; the spec lets registries limit it and clients keep under 255 with the host. */
export const MAX_NAME_LENGTH = 255;

/** True for a valid repository name. */
export function isRepositoryName(value: string): boolean {
  if (value.length === 0 || value.length > MAX_NAME_LENGTH) return false;
  // One pass over `component ("/" component)*`, component = `[a-z0-9]+ ((. | _ | __ | -+) [a-z0-9]+)*`.
  let inRun = false; // just after a lower-case letter or digit
  let separator = 0; // the separator character being read, 0 when none
  let separators = 0; // how many of it so far
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (isLowerAlnum(c)) {
      if (separator === 0x2e && separators > 1) return false; // only one "."
      if (separator === 0x5f && separators > 2) return false; // "_" or "__"
      inRun = true;
      separator = 0;
      separators = 0;
    } else if (c === 0x2e || c === 0x5f || c === 0x2d) {
      if (inRun) {
        inRun = false;
        separator = c;
        separators = 1;
      } else if (separator === c) separators++;
      else return false;
    } else if (c === 0x2f /* / */) {
      if (!inRun) return false;
      inRun = false;
    } else return false;
  }
  return inRun;
}

/** @throws RegistryError NAME_INVALID unless `value` is a valid repository name. */
export function parseRepositoryName(value: string): string {
  if (!isRepositoryName(value)) throw new RegistryError('NAME_INVALID', `invalid repository name: ${value.slice(0, 300)}`);
  return value;
}

/** Longest tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. */
export const MAX_TAG_LENGTH = 128;

/** True for a valid tag (at most 128 characters). */
export function isTag(value: string): boolean {
  if (value.length === 0 || value.length > MAX_TAG_LENGTH) return false;
  const first = value.charCodeAt(0);
  if (!isAlnum(first) && first !== 0x5f) return false;
  for (let i = 1; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!isAlnum(c) && c !== 0x5f && c !== 0x2e && c !== 0x2d) return false;
  }
  return true;
}

/**
 * The spec has no TAG_INVALID code, so a malformed tag is reported as MANIFEST_INVALID (400) with the tag as detail.
 * @throws RegistryError MANIFEST_INVALID unless `value` is a valid tag.
 */
export function parseTag(value: string): string {
  if (!isTag(value)) throw new RegistryError('MANIFEST_INVALID', `invalid tag: ${value.slice(0, 200)}`, { detail: { tag: value.slice(0, 200) } });
  return value;
}
