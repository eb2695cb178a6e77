/**
 * `@authcode/client/fastify`: a Fastify plugin over the framework-agnostic `AuthHandler`
 * (`../web/handler.js`), the same as the Express middleware: the login, callback and logout routes,
 * `request.auth` (what the app may show about the session, never a token) and `requireAuth()`.
 *
 * @example
 * ```ts
 * import { authcode, requireAuth } from '@authcode/client/fastify'
 * await app.register(authcode, { client })
 * app.get('/dashboard', { preHandler: requireAuth() }, async (request) => request.auth?.claims?.name)
 * ```
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import type { SessionInfo } from '../client.js'
import { signInRequiredPage } from '../web/error-page.js'
import { AuthHandler, type AuthHandlerOptions } from '../web/handler.js'
import { MAX_BODY, webRequest } from '../web/node.js'

export { AuthHandler, createAuthHandler, type AuthHandlerOptions, type AuthSession, type HandleOptions } from '../web/handler.js'
export type { SameSite } from '../web/cookies.js'
export { isSameOrigin } from '../web/origin.js'
export { errorPage, signInRequiredPage } from '../web/error-page.js'

/** `request.auth`: the session as the app may see it. */
export interface FastifyAuth extends SessionInfo {
  /** The session id, for `client.fetch(request.auth.sessionId, …)` and friends. Never show or log it. */
  readonly sessionId: string
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `authcode` plugin when the request carries a live session. */
    auth: FastifyAuth | undefined
  }
  interface FastifyInstance {
    /** The `AuthHandler` the `authcode` plugin registered (its `client`, cookie names, paths). */
    authcode: AuthHandler
  }
}

/** The Web `Request` for a Fastify request: URL on the configured origin (never the Host header), method, headers. */
export function toWebRequest(request: FastifyRequest, origin: string): Request {
  return webRequest(origin, request.raw.url ?? request.url, request.method, request.headers)
}

/** Sends a Web `Response` through Fastify's reply (status, headers, each `Set-Cookie`, body). */
export async function sendWebResponse(reply: FastifyReply, response: Response): Promise<FastifyReply> {
  reply.code(response.status)
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') reply.header(name, value)
  }
  // Fastify appends each `set-cookie` header instead of replacing it.
  for (const cookie of response.headers.getSetCookie()) reply.header('set-cookie', cookie)
  return reply.send(response.body === null ? undefined : Buffer.from(await response.arrayBuffer()))
}

/** Marks the plugin's own routes, so the session hook leaves them to the handler. */
const ROUTE_CONFIG = Object.freeze({ authcode: true })

/**
 * The plugin: registers the login (`GET`), callback (`GET`, at the redirect URI's path), logout
 * (`POST`) and back-channel logout (`POST`, from the authorization server) routes, and sets `request.auth` on every other request that carries a live session
 * (clearing the cookie of an ended one). Register it on the root instance: `request.auth` and
 * `app.authcode` are visible to the whole app. Its routes read no body (the logout form's is
 * ignored), so the app's content-type parsers are left as they are. Pending logins are counted per
 * `request.ip` (`maxPerCaller`): Fastify's `trustProxy` decides what that is, so set it to your
 * proxies, never to `true` in front of the open Internet.
 */
export async function authcode(app: FastifyInstance, options: AuthHandlerOptions): Promise<void> {
  const handler = new AuthHandler(options)
  app.decorate('authcode', handler)
  app.decorateRequest('auth', undefined)

  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config !== undefined && 'authcode' in request.routeOptions.config) return
    const web = toWebRequest(request, handler.origin)
    if (handler.sessionId(web) === undefined) return
    const session = await handler.session(web)
    if (session === undefined) reply.header('set-cookie', handler.clearSessionCookie())
    else request.auth = Object.freeze({ ...session.info, sessionId: session.sessionId })
  })

  // In a context of their own, where every body is skipped unread: no parser of the app's is
  // replaced, and a form POST to the logout route is not refused as an unknown content type.
  await app.register(async (routes) => {
    routes.removeAllContentTypeParsers()
    routes.addContentTypeParser('*', (_request, _payload, done) => done(null))
    const web = (request: FastifyRequest): Request => toWebRequest(request, handler.origin)
    routes.get(handler.loginPath, { config: ROUTE_CONFIG }, async (request, reply) => sendWebResponse(reply, await handler.login(web(request), { callerAddress: request.ip })))
    routes.get(handler.callbackPath, { config: ROUTE_CONFIG }, async (request, reply) => sendWebResponse(reply, await handler.callback(web(request))))
    routes.post(handler.logoutPath, { config: ROUTE_CONFIG }, async (request, reply) => sendWebResponse(reply, await handler.logout(web(request))))
  })

  // The back-channel logout (from the authorization server): its form body is read, as text, here only.
  await app.register(async (routes) => {
    routes.removeAllContentTypeParsers()
    routes.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: MAX_BODY }, (_request, body, done) => done(null, body))
    routes.addContentTypeParser('*', (_request, _payload, done) => done(null))
    routes.post(handler.backchannelLogoutPath, { config: ROUTE_CONFIG }, async (request, reply) => {
      const body = typeof request.body === 'string' ? request.body : undefined
      return sendWebResponse(reply, await handler.backchannelLogout(webRequest(handler.origin, request.raw.url ?? request.url, request.method, request.headers, body ?? '')))
    })
  })
}

// What fastify-plugin does: decorations and hooks reach the instance that registers the plugin.
Object.assign(authcode, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: '@authcode/client' })

export interface RequireAuthOptions {
  /** The login route to send a `GET` or `HEAD` to; default `/login`. */
  loginPath?: string
  /** Answers any other request without a session; default a 401 HTML page with a link to `loginPath`. */
  unauthenticated?: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
}

/**
 * A `preHandler` that lets only requests with a session through. Without one, a `GET` or `HEAD` is
 * redirected to the login route with `returnTo` set to the requested path; anything else gets
 * `unauthenticated`: by default a 401 page that says so and links to the login.
 */
export function requireAuth(options: RequireAuthOptions = {}): preHandlerAsyncHookHandler {
  const loginPath = options.loginPath ?? '/login'
  const unauthenticated = options.unauthenticated
  return async (request, reply) => {
    if (request.auth !== undefined) return
    reply.header('cache-control', 'no-store')
    if (request.method === 'GET' || request.method === 'HEAD') {
      return reply.redirect(`${loginPath}?${new URLSearchParams({ returnTo: request.url }).toString()}`, 302)
    }
    if (unauthenticated !== undefined) return unauthenticated(request, reply)
    return sendWebResponse(reply, signInRequiredPage(loginPath))
  }
}
