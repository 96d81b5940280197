/** Which paths belong to the web page; apart from its routes, so the server can ask without loading the page. */

/** True for the paths the web page answers: `/`, `/ui` and everything under `/ui/`. */
export function isUiPath(pathname: string): boolean {
  return pathname === '/' || pathname === '/ui' || pathname.startsWith('/ui/');
}
