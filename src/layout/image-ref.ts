/** References as `marina cache export` and the layouts' ref.name annotations write them: `repo:tag` or `repo@digest`. */
import { tryParseDigest, type Digest } from '../oci/digest.ts';
import { isRepositoryName, isTag } from '../oci/names.ts';

/** A repository plus a tag or a digest. */
export type ImageRef = { repository: string; tag: string; digest?: undefined } | { repository: string; digest: Digest; tag?: undefined };

/** Reads `repo:tag`, `repo@digest` or `repo` (tag latest); undefined when it is none of these. */
export function parseImageRef(value: string): ImageRef | undefined {
  if (value.length > 1024) return undefined;
  const at = value.indexOf('@');
  if (at >= 0) {
    const repository = value.slice(0, at);
    const digest = tryParseDigest(value.slice(at + 1));
    return digest && isRepositoryName(repository) ? { repository, digest } : undefined;
  }
  const colon = value.lastIndexOf(':');
  const [repository, tag] = colon > value.lastIndexOf('/') ? [value.slice(0, colon), value.slice(colon + 1)] : [value, 'latest'];
  return isRepositoryName(repository) && isTag(tag) ? { repository, tag } : undefined;
}

/** The reference as text. */
export function formatImageRef(ref: ImageRef): string {
  return ref.digest ? `${ref.repository}@${ref.digest}` : `${ref.repository}:${ref.tag}`;
}
