/**
 * The pages the Web handler answers with when it cannot go on: a failed login or callback
 * (`errorPage`, unless the app passes `renderError`) and a refused cross-origin logout. Each is
 * `no-store`, framed by nobody, and escaped by the template engine.
 */
import { Eta } from 'eta'
import { AuthcodeClientError, AuthorizationError, CallbackError, OAuthServerError } from '../errors.js'

const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
} as const

// The error page, escaped by the template engine (no hand-rolled escaping, as everywhere in authcode).
const pages = new Eta({ autoEscape: true, cache: true })
pages.loadTemplate(
  '@error',
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title><%= it.title %></title></head><body><main><h1><%= it.title %></h1><p><%= it.detail %></p><p><a href="/">Back to the home page</a></p></main></body></html>',
)

/**
 * The default page for a failed callback: 400 for what the browser brought (a bad or replayed
 * callback, a denial), 502 when the server's back channel failed. Messages of this package's errors
 * never hold a token or a secret; anything else shows as a generic failure.
 */
export function errorPage(error: unknown): Response {
  let status = 502
  let title = 'Sign-in failed'
  let detail = 'Something went wrong while signing you in.'
  if (error instanceof AuthorizationError) {
    status = 400
    title = error.error === 'access_denied' ? 'Sign-in cancelled' : 'Sign-in failed'
    detail = error.error === 'access_denied' ? 'Access was not granted.' : `The authorization server answered: ${error.error}${error.error_description === undefined ? '' : ` (${error.error_description})`}`
  } else if (error instanceof CallbackError || (error instanceof OAuthServerError && error.code === 'INVALID_GRANT')) {
    status = 400
    detail = `This sign-in link is not valid any more (${error.code}). Please start again.`
  } else if (error instanceof AuthcodeClientError) {
    detail = `The authorization server could not complete the sign-in (${error.code}).`
  }
  const body = pages.render('@error', { title, detail })
  return new Response(body, { status, headers: HTML_HEADERS })
}

/** The 403 page of a logout POST from another origin (see `isSameOrigin`). */
export function crossOriginLogoutPage(): Response {
  return new Response('<!doctype html><title>Forbidden</title><p>Cross-origin logout refused.</p>', { status: 403, headers: HTML_HEADERS })
}
