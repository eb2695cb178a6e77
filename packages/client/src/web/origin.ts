/** The origin check of state-changing requests (the logout POST): a cross-site form cannot log a user out. */

/**
 * Whether a state-changing request comes from a page of `origin`: `Sec-Fetch-Site` when the browser
 * sends it (it does whatever the page's referrer policy), else the `Origin` header (`null`, as sent
 * by opaque origins and `no-referrer` pages, is refused). A request with neither (not a browser's
 * form, or an old browser) passes: the session cookie's `SameSite` still guards it.
 */
export function isSameOrigin(request: Request, origin: string): boolean {
  const site = request.headers.get('sec-fetch-site')
  if (site !== null) return site === 'same-origin' || site === 'none'
  const sent = request.headers.get('origin')
  return sent === null || sent === origin
}
