/** `marina/client`: an OCI distribution client. Re-exports only. */
export { RegistryClient, ALL_MANIFEST_TYPES, type ClientOptions, type FetchedManifest } from './client.ts';
export type { Credentials } from './auth.ts';
export { parseChallenges, type Challenge } from './www-authenticate.ts';
export { referrersTag } from './referrers-tag.ts';
