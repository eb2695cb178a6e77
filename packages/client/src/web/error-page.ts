/**
 * The pages the Web handler and the framework adapters answer with when they cannot go on: a failed
 * login or callback (`errorPage`, unless the app passes `renderError`), a refused cross-origin
 * logout, a request that needs a session it does not have. Each is a small styled HTML page,
 * `no-store`, framed by nobody, and escaped by the template engine.
 */
import { Eta } from 'eta'
import { AuthcodeClientError, AuthorizationError, CallbackError, OAuthServerError, StoreError } from '../errors.js'

const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
} as const

// The pages, escaped by the template engine (no hand-rolled escaping, as everywhere in authcode).
const pages = new Eta({ autoEscape: true, cache: true })
pages.loadTemplate(
  '@page',
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title><%= it.title %></title>' +
    '<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1f2328}h1{font-size:1.5rem}a{color:#0b57d0}</style></head>' +
    '<body><main><h1><%= it.title %></h1><p><%= it.detail %></p><p><a href="<%= it.link.href %>"><%= it.link.text %></a></p></main></body></html>',
)

function page(status: number, title: string, detail: string, link = { href: '/', text: 'Back to the home page' }): Response {
  return new Response(pages.render('@page', { title, detail, link }), { status, headers: HTML_HEADERS })
}

/**
 * The default page for a failed login or callback: 400 for what the browser brought (a bad, used or
 * stale callback, a denial), 503 while a store cannot answer, 502 when the server's back channel
 * failed. Messages of this package's errors never hold a token or a secret; anything else shows as
 * a generic failure.
 */
export function errorPage(error: unknown): Response {
  if (error instanceof AuthorizationError) {
    if (error.error === 'access_denied') return page(400, 'Sign-in cancelled', 'Access was not granted.')
    return page(400, 'Sign-in failed', `The authorization server answered: ${error.error}${error.error_description === undefined ? '' : ` (${error.error_description})`}`)
  }
  if (error instanceof CallbackError && (error.code === 'LOGIN_NOT_FOUND' || error.code === 'LOGIN_EXPIRED')) {
    return page(400, 'This sign-in link was already used', `This sign-in link was already used or has expired (${error.code}), and you are not signed in. Please sign in again.`)
  }
  if (error instanceof CallbackError || (error instanceof OAuthServerError && error.code === 'INVALID_GRANT')) {
    return page(400, 'Sign-in failed', `This sign-in link is not valid any more (${error.code}). Please start again.`)
  }
  if (error instanceof StoreError) {
    return page(503, 'Sign-in unavailable', `Signing in is not possible right now (${error.code}). Please try again in a moment.`)
  }
  if (error instanceof AuthcodeClientError) return page(502, 'Sign-in failed', `The authorization server could not complete the sign-in (${error.code}).`)
  return page(502, 'Sign-in failed', 'Something went wrong while signing you in.')
}

/** The 403 page of a logout POST from another origin (see `isSameOrigin`). */
export function crossOriginLogoutPage(): Response {
  return page(403, 'Forbidden', 'Cross-origin logout refused.')
}

/** The 401 page for a request that needs a session and has none (`requireAuth` for anything but GET and HEAD). */
export function signInRequiredPage(loginPath: string): Response {
  return page(401, 'Signed out', 'You are not signed in (any more): this needs a session. Sign in and try again.', { href: loginPath, text: 'Sign in' })
}
