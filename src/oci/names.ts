/**
 * Repository names and tags (distribution-spec "Pulling manifests" grammar).
 * Checked on the still percent-encoded request path, so an encoded `/` or `.` can never sneak into a name.
 */
import { RegistryError } from '../errors.ts';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Longest repository name accepted; the spec lets registries limit it and clients keep under 255 with the host. */
export const MAX_NAME_LENGTH = 255;

/** True for a valid repository name. */
export function isRepositoryName(value: string): boolean {
  return value.length <= MAX_NAME_LENGTH && NAME.test(value);
}

/** @throws RegistryError NAME_INVALID unless `value` is a valid repository name. */
export function parseRepositoryName(value: string): string {
  if (!isRepositoryName(value)) throw new RegistryError('NAME_INVALID', `invalid repository name: ${value.slice(0, 300)}`);
  return value;
}

/** True for a valid tag (at most 128 characters). */
export function isTag(value: string): boolean {
  return TAG.test(value);
}

/**
 * The spec has no TAG_INVALID code, so a malformed tag is reported as MANIFEST_INVALID (400) with the tag as detail.
 * @throws RegistryError MANIFEST_INVALID unless `value` is a valid tag.
 */
export function parseTag(value: string): string {
  if (!isTag(value)) throw new RegistryError('MANIFEST_INVALID', `invalid tag: ${value.slice(0, 200)}`, { detail: { tag: value.slice(0, 200) } });
  return value;
}
