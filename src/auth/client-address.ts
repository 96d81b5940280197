/**
 * The network address a request came from. A `Request` does not carry it, so the server records it here when it
 * accepts the request (`rememberClientAddress`), and auth providers read it for logs and rate limits.
 */
const addresses = new WeakMap<Request, string>();

/** Records where `request` came from (call it in the server's fetch handler). */
export function rememberClientAddress(request: Request, address: string | undefined): void {
  if (address) addresses.set(request, address);
}

/** Where `request` came from, or `unknown` for requests built in-process. */
export function clientAddress(request: Request): string {
  return addresses.get(request) ?? 'unknown';
}
