/** GET, HEAD, PUT and DELETE of manifests. */
import { deleteManifest, putManifest, readManifest } from '../core/manifests.ts';
import { withCacheStatus } from './cache-status.ts';
import { parseTag } from '../oci/names.ts';
import { paths, type Route } from './paths.ts';
import { readLimited, type Exchange } from './request.ts';
import { manifestResponse } from './representations.ts';
import { baseHeaders, empty } from './responses.ts';

type ManifestRoute = Extract<Route, { kind: 'manifest' }>;

/** Serves manifest bytes from the index record, exactly as pushed (or as a read-through source answers them). */
export async function getManifestResponse(x: Exchange<ManifestRoute>, name: string): Promise<Response> {
  const head = x.method === 'HEAD';
  const { record, outcome } = await readManifest(x.core, name, x.route.reference, { accept: x.request.headers.get('accept'), head, through: x.through });
  return manifestResponse(record, head, outcome && withCacheStatus({}, outcome, x.query.get('ns')));
}

/** Stores a manifest (201 + Location, OCI-Subject, OCI-Tag). */
export async function putManifestResponse(x: Exchange<ManifestRoute>, name: string): Promise<Response> {
  const tagParams = x.query.getAll('tag').map(parseTag);
  const body = await readLimited(x.request, x.core.settings.maxManifestSize);
  const result = await putManifest(x.core, name, x.route.reference, body, x.request.headers.get('content-type') ?? undefined, tagParams);
  const headers = baseHeaders({ Location: paths.manifest(name, result.digest), 'Docker-Content-Digest': result.digest });
  if (result.subject && x.core.settings.referrersEnabled) headers.set('OCI-Subject', result.subject);
  for (const tag of tagParams) headers.append('OCI-Tag', tag);
  return empty(201, headers);
}

/** Deletes a tag or a manifest (202). */
export async function deleteManifestResponse(x: Exchange<ManifestRoute>, name: string): Promise<Response> {
  await deleteManifest(x.core, name, x.route.reference);
  return empty(202);
}
