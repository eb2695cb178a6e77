/**
 * Express middleware over the framework-agnostic `AuthHandler` (`../web/handler.js`): the login,
 * callback and logout routes, `req.auth` (what the app may show about the session, never a token)
 * and `requireAuth()`.
 *
 * @example
 * ```ts
 * import { authcode, requireAuth } from '@authcode/client/express'
 * app.use(authcode({ client }))
 * app.get('/dashboard', requireAuth(), (req, res) => res.send(req.auth?.claims?.name))
 * ```
 */
import type { NextFunction, Request as ExpressRequest, RequestHandler, Response as ExpressResponse } from 'express'
import type { SessionInfo } from '../client.js'
import { signInRequiredPage } from '../web/error-page.js'
import { AuthHandler, type AuthHandlerOptions } from '../web/handler.js'
import { readBody, webRequest } from '../web/node.js'

export { AuthHandler, createAuthHandler, type AuthHandlerOptions, type AuthSession, type HandleOptions } from '../web/handler.js'
export type { SameSite } from '../web/cookies.js'
export { isSameOrigin } from '../web/origin.js'
export { errorPage, signInRequiredPage } from '../web/error-page.js'

/** `req.auth`: the session as the app may see it. */
export interface ExpressAuth extends SessionInfo {
  /** The session id, for `client.fetch(req.auth.sessionId, …)` and friends. Never show or log it. */
  readonly sessionId: string
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `authcode()` when the request carries a live session. */
      auth?: ExpressAuth
    }
  }
}

export interface ExpressAuthOptions extends AuthHandlerOptions {
  /**
   * `'page'` (default) answers a failed callback with the handler's error page; `'next'` passes the
   * error to Express's error handlers instead.
   */
  onError?: 'page' | 'next'
}

/** The Web `Request` for an Express request: URL on the configured origin (never the Host header), method, headers. */
export function toWebRequest(req: ExpressRequest, origin: string): Request {
  return webRequest(origin, req.originalUrl, req.method, req.headers)
}

/** Writes a Web `Response` to Express (status, headers, each `Set-Cookie`, body). */
export async function sendWebResponse(res: ExpressResponse, response: Response): Promise<void> {
  res.status(response.status)
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') res.setHeader(name, value)
  }
  for (const cookie of response.headers.getSetCookie()) res.append('set-cookie', cookie)
  res.end(response.body === null ? undefined : Buffer.from(await response.arrayBuffer()))
}

/**
 * The Web `Request` of a back-channel logout, its body included: read from the stream, or rebuilt
 * from what a body parser of the app (`express.urlencoded`) made of it; undefined when it is too large.
 */
async function backchannelRequest(req: ExpressRequest, origin: string): Promise<Request | undefined> {
  let body: string
  if (typeof req.body === 'string') body = req.body
  else if (typeof req.body === 'object' && req.body !== null && req.readableEnded) {
    const form = new URLSearchParams()
    for (const [name, value] of Object.entries(req.body as Record<string, unknown>)) {
      for (const item of Array.isArray(value) ? value : [value]) if (typeof item === 'string') form.append(name, item)
    }
    body = form.toString()
  } else {
    try {
      body = await readBody(req)
    } catch (error) {
      if (error instanceof RangeError) return undefined
      throw error
    }
  }
  return webRequest(origin, req.originalUrl, req.method, req.headers, body)
}

const tooLarge = (): Response =>
  new Response(JSON.stringify({ error: 'invalid_request', error_description: 'the body is too large' }), {
    status: 413,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  })

class PassToNext extends Error {
  constructor(readonly error: unknown) {
    super('callback failed')
  }
}

/**
 * The middleware: answers the login (`GET`), callback (`GET`, at the redirect URI's path), logout
 * (`POST`) and back-channel logout (`POST`, from the authorization server) routes, and sets `req.auth` on every other request that carries a live session
 * (clearing the cookie of an ended one). Mount it at the application's root. Pending logins are
 * counted per `req.ip` (`maxPerCaller`): Express's `trust proxy` setting decides what that is, so
 * set it to your proxies, never to `true` in front of the open Internet.
 */
export function authcode(options: ExpressAuthOptions): RequestHandler & { handler: AuthHandler } {
  const onError = options.onError ?? 'page'
  if (onError !== 'page' && onError !== 'next') throw new TypeError("onError must be 'page' or 'next'")
  const handler = new AuthHandler(
    onError === 'next'
      ? {
          ...options,
          renderError: (error) => {
            throw new PassToNext(error)
          },
        }
      : options,
  )
  const middleware = (req: ExpressRequest, res: ExpressResponse, next: NextFunction): void => {
    if (req.method === 'POST' && req.path === handler.backchannelLogoutPath) {
      // From the authorization server, with the logout token in a form body.
      backchannelRequest(req, handler.origin)
        .then(async (request) => sendWebResponse(res, request === undefined ? tooLarge() : await handler.backchannelLogout(request)))
        .catch(next)
      return
    }
    const request = toWebRequest(req, handler.origin)
    handler
      .handle(request, { callerAddress: req.ip })
      .then(async (response) => {
        if (response !== undefined) return sendWebResponse(res, response)
        if (handler.sessionId(request) === undefined) return next()
        const session = await handler.session(request)
        if (session === undefined) res.append('set-cookie', handler.clearSessionCookie())
        else req.auth = Object.freeze({ ...session.info, sessionId: session.sessionId })
        next()
      })
      .catch((error: unknown) => next(error instanceof PassToNext ? error.error : error))
  }
  return Object.assign(middleware, { handler })
}

export interface RequireAuthOptions {
  /** The login route to send a `GET` or `HEAD` to; default `/login`. */
  loginPath?: string
  /** Answers any other request without a session; default a 401 HTML page with a link to `loginPath`. */
  unauthenticated?: RequestHandler
}

/**
 * Lets only requests with a session through. Without one, a `GET` or `HEAD` is redirected to the
 * login route with `returnTo` set to the requested path; anything else (a form's POST after the
 * session ended) gets `unauthenticated`: by default a 401 page that says so and links to the login.
 */
export function requireAuth(options: RequireAuthOptions = {}): RequestHandler {
  const loginPath = options.loginPath ?? '/login'
  const unauthenticated = options.unauthenticated
  return (req, res, next) => {
    if (req.auth !== undefined) return next()
    res.setHeader('cache-control', 'no-store')
    if (req.method === 'GET' || req.method === 'HEAD') {
      res.redirect(302, `${loginPath}?${new URLSearchParams({ returnTo: req.originalUrl }).toString()}`)
      return
    }
    if (unauthenticated !== undefined) return unauthenticated(req, res, next)
    sendWebResponse(res, signInRequiredPage(loginPath)).catch(next)
  }
}
