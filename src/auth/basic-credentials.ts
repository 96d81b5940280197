/** Reading `Authorization: Basic` and `Authorization: Bearer` headers, bounded before decoding. */

/** Longest Authorization header read; longer ones are treated as malformed. */
export const MAX_AUTHORIZATION_LENGTH = 16 * 1024;

/** A user name and password from a Basic header. */
export interface BasicCredentials {
  user: string;
  password: string;
}

/** What an Authorization header holds: nothing, Basic credentials, a bearer token, or something unreadable. */
export type Presented =
  | { kind: 'none' }
  | { kind: 'basic'; credentials: BasicCredentials }
  | { kind: 'bearer'; token: string }
  | { kind: 'invalid' };

/** Parses the Authorization header of a request. */
export function presentedCredentials(request: Request): Presented {
  const header = request.headers.get('authorization');
  if (header === null || header === '') return { kind: 'none' };
  if (header.length > MAX_AUTHORIZATION_LENGTH) return { kind: 'invalid' };
  const space = header.indexOf(' ');
  if (space < 0) return { kind: 'invalid' };
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return value ? { kind: 'bearer', token: value } : { kind: 'invalid' };
  if (scheme !== 'basic') return { kind: 'invalid' };
  const credentials = decodeBasic(value);
  return credentials ? { kind: 'basic', credentials } : { kind: 'invalid' };
}

/** Decodes the base64 `user:password` of a Basic header; undefined when malformed. */
export function decodeBasic(value: string): BasicCredentials | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return undefined;
  const text = Buffer.from(value, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}
