/**
 * The browser-facing half of the flow over Web `Request`/`Response`, for any framework (the Express
 * adapter in `./express` uses it; Fastify, Hono and others can too): `/login` sets a short-lived
 * HttpOnly login cookie and redirects to the server, `/callback` opens a session and sets the
 * session cookie, `/logout` (POST) revokes and clears it, `/backchannel-logout` (POST, from the
 * server) ends the sessions a logout token names. Tokens never leave the server: the
 * cookies carry random ids only, and no token is ever put in a URL, a page or a log line.
 * Its cookies are in `./cookies.ts`, the logout's origin check in `./origin.ts`, its pages in
 * `./error-page.ts`.
 */
import type { OAuthClient, SessionInfo } from '../client.js'
import { AuthcodeClientError, CallbackError, LogoutTokenError, SessionError } from '../errors.js'
import { safeReturnTo, type AuthorizationUrlOptions } from '../login/authorization-url.js'
import { isCookieName, loginCookieName, parseCookies, serializeCookie, type SameSite } from './cookies.js'
import { crossOriginLogoutPage, errorPage } from './error-page.js'
import { isSameOrigin } from './origin.js'

export interface AuthHandlerOptions {
  client: OAuthClient
  /** Session cookie name; default `__Host-authcode_app_session` with secure cookies, else `authcode_app_session`
   * (distinct from the authorization server's own cookies: browsers do not separate cookies by port). */
  sessionCookie?: string
  /** Prefix of the login cookies (one per attempt, so tabs do not interfere); default `authcode_app_login`. */
  loginCookie?: string
  /** `SameSite` of both cookies; default `Lax`, which survives the top-level redirect back from the server. */
  sameSite?: SameSite
  /** `Secure` on both cookies; default true when the redirect URI is https. */
  secure?: boolean
  /** Session cookie lifetime in seconds; default none (the cookie ends with the browser session). */
  sessionMaxAge?: number
  /** Path of the login route; default `/login`. */
  loginPath?: string
  /** Path of the logout route (POST); default `/logout`. */
  logoutPath?: string
  /**
   * Path of the back-channel logout route (POST, from the authorization server: OpenID
   * Back-Channel Logout §2.5); default `/backchannel-logout`. Register `<origin><path>` as the
   * client's `backchannel_logout_uri` at the server.
   */
  backchannelLogoutPath?: string
  /** Where to go after login when no (safe) `returnTo` was given; default `/`. */
  afterLogin?: string
  /** Where to go after logout when the server offers no RP-initiated logout; default `/`. */
  afterLogout?: string
  /**
   * Options of every authorization request (scope, prompt, extra parameters); `returnTo` comes from
   * the query, `callerAddress` from `handle`.
   */
  authorization?: Omit<AuthorizationUrlOptions, 'returnTo' | 'callerAddress'>
  /**
   * Renders a failed login or callback; default `errorPage`: a small HTML page, 400 for what the
   * browser brought, 503 while a store is down (`STORE_UNAVAILABLE`), 502 for back-channel failures.
   * Log the error here if you want a line per failure (its message never holds a secret).
   */
  renderError?: (error: unknown, request: Request) => Response | Promise<Response>
}

/** What the framework knows about a request beyond the Web `Request`. */
export interface HandleOptions {
  /**
   * The address of the browser that sent the request: its IP as the framework determined it
   * behind the proxies it trusts (Express `req.ip`, Fastify `request.ip`, Hono
   * `getConnInfo(c).remote.address`). A login started by it counts against that address's
   * `maxPerCaller` pending logins, so anonymous `GET /login` requests from one address cannot push
   * out anyone else's; without it, pending logins are bounded in all only (`maxEntries`).
   */
  callerAddress?: string | undefined
}

/** The largest back-channel logout body read: a logout token is a few hundred bytes (`MAX_LOGOUT_TOKEN_LENGTH` at most). */
const MAX_BACKCHANNEL_BODY = 32 * 1024

/** §2.8: the answer to the server, never cached; an error as RFC 6749 §5.2 JSON. */
function backchannelAnswer(status: number, error: { error: string; error_description: string } | undefined): Response {
  const headers = new Headers({ 'cache-control': 'no-store' })
  if (error === undefined) return new Response(null, { status, headers })
  headers.set('content-type', 'application/json')
  return new Response(JSON.stringify(error), { status, headers })
}

/** The session behind a request, as the app may see it (never a token). */
export interface AuthSession {
  /** The session id from the cookie: pass it to `client.fetch`, `client.userinfo`, … Never show it. */
  readonly sessionId: string
  readonly info: SessionInfo
}

function checkPath(name: string, value: string): string {
  if (safeReturnTo(value) === undefined) throw new TypeError(`${name} must be a same-origin path starting with a single "/"`)
  return value
}

/**
 * Builds the handler. Options are checked here (a `TypeError` on a mistake).
 *
 * @example
 * ```ts
 * const auth = createAuthHandler({ client })
 * // Hono: app.all('*', async (c, next) => (await auth.handle(c.req.raw, { callerAddress: getConnInfo(c).remote.address })) ?? next())
 * ```
 */
export function createAuthHandler(options: AuthHandlerOptions): AuthHandler {
  return new AuthHandler(options)
}

export class AuthHandler {
  readonly client: OAuthClient
  readonly sessionCookie: string
  readonly loginCookie: string
  readonly sameSite: SameSite
  readonly secure: boolean
  readonly loginPath: string
  readonly logoutPath: string
  readonly backchannelLogoutPath: string
  /** The redirect URI's path: where the server sends the browser back. */
  readonly callbackPath: string
  /** The app's origin, from the configured redirect URI (never from the request's Host). */
  readonly origin: string
  readonly #options: AuthHandlerOptions
  readonly #afterLogin: string
  readonly #afterLogout: string

  constructor(options: AuthHandlerOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
    if (options.client === undefined || typeof options.client.buildAuthorizationUrl !== 'function') throw new TypeError('client must be an OAuthClient')
    this.#options = options
    this.client = options.client
    const redirect = new URL(options.client.config.redirectUri)
    this.origin = redirect.origin
    this.callbackPath = redirect.pathname
    this.secure = options.secure ?? redirect.protocol === 'https:'
    // RFC 6265bis §4.1.3.2: a __Host- cookie is Secure, Path=/ and host-only, so no subdomain can set it.
    this.sessionCookie = options.sessionCookie ?? (this.secure ? '__Host-authcode_app_session' : 'authcode_app_session')
    this.loginCookie = options.loginCookie ?? 'authcode_app_login'
    for (const [name, value] of [['sessionCookie', this.sessionCookie], ['loginCookie', this.loginCookie]] as const) {
      if (!isCookieName(value)) throw new TypeError(`${name} must be a valid cookie name`)
    }
    this.sameSite = options.sameSite ?? 'Lax'
    if (!['Lax', 'Strict', 'None'].includes(this.sameSite)) throw new TypeError('sameSite must be Lax, Strict or None')
    if (this.sameSite === 'None' && !this.secure) throw new TypeError('sameSite None needs secure cookies (browsers drop them otherwise)')
    if (options.sessionMaxAge !== undefined && (!Number.isInteger(options.sessionMaxAge) || options.sessionMaxAge <= 0)) {
      throw new TypeError('sessionMaxAge must be a positive integer (seconds)')
    }
    this.loginPath = checkPath('loginPath', options.loginPath ?? '/login')
    this.logoutPath = checkPath('logoutPath', options.logoutPath ?? '/logout')
    this.backchannelLogoutPath = checkPath('backchannelLogoutPath', options.backchannelLogoutPath ?? '/backchannel-logout')
    this.#afterLogin = checkPath('afterLogin', options.afterLogin ?? '/')
    this.#afterLogout = checkPath('afterLogout', options.afterLogout ?? '/')
    if (new Set([this.loginPath, this.logoutPath, this.backchannelLogoutPath, this.callbackPath]).size !== 4) {
      throw new TypeError('loginPath, logoutPath, backchannelLogoutPath and the redirect URI path must differ')
    }
  }

  /**
   * Answers the login, callback and logout routes; resolves to undefined for any other request
   * (let the app handle it). Give the browser's address (`callerAddress`) whenever the framework
   * knows it.
   */
  async handle(request: Request, options: HandleOptions = {}): Promise<Response | undefined> {
    const { pathname } = new URL(request.url)
    if (pathname === this.loginPath && request.method === 'GET') return this.login(request, options)
    if (pathname === this.callbackPath && request.method === 'GET') return this.callback(request)
    if (pathname === this.logoutPath && request.method === 'POST') return this.logout(request)
    if (pathname === this.backchannelLogoutPath && request.method === 'POST') return this.backchannelLogout(request)
    return undefined
  }

  /**
   * `GET /login?returnTo=/path`: a new login attempt, its id in an HttpOnly cookie named after its
   * `state` (several tabs can log in at once), and a redirect to the authorization endpoint. A
   * `returnTo` that is not a safe ASCII path on this site (see `safeReturnTo`) is dropped here, before
   * anything is stored: the login goes on and ends at `afterLogin`. The attempt counts against
   * `callerAddress`, when given (see `HandleOptions`).
   */
  async login(request: Request, options: HandleOptions = {}): Promise<Response> {
    const returnTo = safeReturnTo(new URL(request.url).searchParams.get('returnTo') ?? undefined)
    const { callerAddress } = options
    let attempt: Awaited<ReturnType<OAuthClient['buildAuthorizationUrl']>>
    try {
      attempt = await this.client.buildAuthorizationUrl({
        ...this.#options.authorization,
        ...(returnTo === undefined ? {} : { returnTo }),
        ...(callerAddress === undefined || callerAddress === '' ? {} : { callerAddress }),
      })
    } catch (error) {
      // Discovery failed (the server is down or misconfigured): a page, not a crash.
      if (error instanceof AuthcodeClientError) return this.#error(error, request)
      throw error
    }
    const { url, loginId, expiresAt } = attempt
    const state = url.searchParams.get('state') ?? ''
    const maxAge = Math.max(1, expiresAt - this.client.config.now())
    const headers = new Headers({ location: url.href, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' })
    headers.append('set-cookie', this.#cookie(this.#loginCookieName(state), loginId, { maxAge, path: this.callbackPath }))
    return new Response(null, { status: 302, headers })
  }

  /**
   * The redirect back from the server: `handleCallback` with the login cookie this browser holds
   * for the callback's `state`; on success the session cookie and a redirect to the `returnTo`
   * path (a fresh session id every time; the browser's previous session is logged out). The login
   * cookie is cleared either way.
   *
   * A callback that matches no login attempt of this browser — reopened from the history, Back
   * after the login, a link that expired — is not a new failure: a browser that is signed in goes
   * to `afterLogin` (its session stays as it is), one that is not gets the "link already used"
   * page. Nothing is sent to the server in either case.
   */
  async callback(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const states = url.searchParams.getAll('state')
    const cookieName = states.length === 1 ? this.#loginCookieName(states[0] as string) : undefined
    const loginId = cookieName === undefined ? undefined : parseCookies(request.headers.get('cookie')).get(cookieName)
    const clearLogin = cookieName === undefined || loginId === undefined ? undefined : this.#cookie(cookieName, '', { maxAge: 0, path: this.callbackPath })
    let response: Response
    try {
      const result = await this.client.handleCallback({ loginId, url: url.searchParams })
      // A new session replaces the browser's previous one (never reused): end that one at the server.
      const previous = this.sessionId(request)
      if (previous !== undefined) await this.client.logout(previous).catch(() => undefined)
      // Checked again: an attempt saved by an older version or another store may hold anything.
      const headers = new Headers({ location: safeReturnTo(result.returnTo) ?? this.#afterLogin, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' })
      headers.append('set-cookie', this.#cookie(this.sessionCookie, result.sessionId, { maxAge: this.#options.sessionMaxAge, path: '/' }))
      response = new Response(null, { status: 303, headers })
    } catch (error) {
      response = (await this.#signedInAlready(error, request)) ?? (await this.#error(error, request))
    }
    if (clearLogin === undefined) return response
    // A copy: a Response from renderError may have immutable headers.
    const copy = new Response(response.body, response)
    copy.headers.append('set-cookie', clearLogin)
    return copy
  }

  /**
   * `POST /logout`: revokes the session's tokens (RFC 7009), clears the session cookie, and sends
   * the browser to the server's end-session endpoint when it offers one, else to `afterLogout`.
   * A POST from another site is refused (see `isSameOrigin`).
   */
  async logout(request: Request): Promise<Response> {
    if (!isSameOrigin(request, this.origin)) {
      return crossOriginLogoutPage()
    }
    const sessionId = this.sessionId(request)
    let location = this.#afterLogout
    if (sessionId !== undefined) {
      // The ID token stays on the server: no token in a URL (SECURITY.md 21); client_id identifies
      // us, and the server asks the user before it signs them out. No state: it would come back to
      // `afterLogout`, which checks none.
      const result = await this.client.logout(sessionId, { idTokenHint: false, state: false })
      if (result.endSessionUrl !== undefined) location = result.endSessionUrl.href
    }
    const headers = new Headers({ location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' })
    headers.append('set-cookie', this.clearSessionCookie())
    return new Response(null, { status: 303, headers })
  }

  /**
   * `POST /backchannel-logout` from the authorization server (OpenID Back-Channel Logout §2.5): the
   * form's one `logout_token` is validated and the sessions of the login session it names end
   * (`client.backchannelLogout`). §2.8: 200 when done (also when no session was of that login
   * session), 400 with an OAuth error body for a token to refuse, 503 while the store or the
   * server's keys cannot be reached (the server tries again). No cookie, no origin check: the
   * token's signature is what proves the request.
   */
  async backchannelLogout(request: Request): Promise<Response> {
    const refuse = (description: string) => backchannelAnswer(400, { error: 'invalid_request', error_description: description })
    if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(request.headers.get('content-type') ?? '')) return refuse('the body must be application/x-www-form-urlencoded')
    const declared = Number(request.headers.get('content-length') ?? 0)
    if (declared > MAX_BACKCHANNEL_BODY) return refuse('the body is too large')
    const body = await request.text()
    if (body.length > MAX_BACKCHANNEL_BODY) return refuse('the body is too large')
    const tokens = new URLSearchParams(body).getAll('logout_token')
    if (tokens.length !== 1) return refuse(tokens.length === 0 ? 'logout_token is missing' : 'logout_token is given more than once')
    try {
      await this.client.backchannelLogout(tokens[0] as string)
      return backchannelAnswer(200, undefined)
    } catch (error) {
      if (error instanceof LogoutTokenError) return refuse(error.message)
      if (error instanceof AuthcodeClientError) return backchannelAnswer(503, { error: 'temporarily_unavailable', error_description: error.message })
      throw error
    }
  }

  /** The session id in the request's session cookie, if any. */
  sessionId(request: Request): string | undefined {
    const value = parseCookies(request.headers.get('cookie')).get(this.sessionCookie)
    return value === undefined || value === '' ? undefined : value
  }

  /**
   * The request's session (refreshing its access token when due), or undefined when there is no
   * cookie or the session is unknown or ended (then clear the cookie: `clearSessionCookie()`).
   * Back-channel failures reject.
   */
  async session(request: Request): Promise<AuthSession | undefined> {
    const sessionId = this.sessionId(request)
    if (sessionId === undefined) return undefined
    try {
      return { sessionId, info: await this.client.getSession(sessionId) }
    } catch (error) {
      if (error instanceof SessionError && error.code !== 'REFRESH_LOCK_TIMEOUT') return undefined
      throw error
    }
  }

  /** A `Set-Cookie` value that deletes the session cookie. */
  clearSessionCookie(): string {
    return this.#cookie(this.sessionCookie, '', { maxAge: 0, path: '/' })
  }

  #loginCookieName(state: string): string {
    return loginCookieName(this.loginCookie, state)
  }

  #cookie(name: string, value: string, options: { maxAge: number | undefined; path: string }): string {
    return serializeCookie(name, value, { ...options, sameSite: this.sameSite, secure: this.secure })
  }

  /** For a callback that matched no login attempt, the redirect of a browser with a live session. */
  async #signedInAlready(error: unknown, request: Request): Promise<Response | undefined> {
    if (!(error instanceof CallbackError) || (error.code !== 'LOGIN_NOT_FOUND' && error.code !== 'LOGIN_EXPIRED')) return undefined
    const session = await this.session(request).catch(() => undefined)
    if (session === undefined) return undefined
    return new Response(null, { status: 303, headers: { location: this.#afterLogin, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } })
  }

  async #error(error: unknown, request: Request): Promise<Response> {
    if (this.#options.renderError !== undefined) return this.#options.renderError(error, request)
    return errorPage(error)
  }
}
