/**
 * The first step of the flow: the URL the browser is sent to, with a fresh `state`, PKCE S256
 * challenge and (when `openid` is asked) `nonce`, remembered server-side under a new login id (and
 * counted against the address that asked, when the app gives it). With PAR (RFC 9126) the
 * parameters are pushed on the back channel first; with DPoP (RFC 9449) the attempt gets its own key.
 */
import * as oauth from 'oauth4webapi'
import { defaultScope } from '../config/options.js'
import { fingerprint } from '../events.js'
import { randomId, type ClientContext } from '../internal/context.js'
import { startTimer, withoutQuery } from '../internal/events.js'
import { InvalidResponseError } from '../errors.js'
import { clientAuthentication, dpopHandle, generateDPoPKey, oauthClient, requestOptions, toClientError, withDPoPNonceRetry } from '../internal/http.js'
import { callerKey } from './caller.js'
import type { LoginState } from './state-store.js'

export interface AuthorizationUrlOptions {
  /** Space-separated scopes; default the client's `scope` option. */
  scope?: string
  /**
   * A same-origin path (`/dashboard?tab=1`) to return to after login (RFC 9700 §4.11.1: no open
   * redirect), in safe ASCII: non-ASCII percent-encoded (see {@link safeReturnTo}).
   */
  returnTo?: string
  /** OIDC `prompt`. `none` with `maxAge: 0` is refused. */
  prompt?: string
  /** OIDC `max_age` in seconds; the ID token's `auth_time` is then checked. */
  maxAge?: number
  /** OIDC `login_hint`. */
  loginHint?: string
  /** More parameters (`audience`, `resource`, `ui_locales`, …); the flow's own parameters cannot be overridden. */
  extraParams?: Record<string, string>
  /**
   * The address of the browser starting the login (its IP as the app's framework sees it behind
   * trusted proxies). The login state store keeps at most `maxPerCaller` pending attempts per
   * address (IPv6: per /64), so one address cannot push out others' attempts; see `callerKey`.
   * Without it the attempt is bounded by `maxEntries` only.
   */
  callerAddress?: string
}

export interface AuthorizationUrl {
  /** Where to redirect the browser. */
  url: URL
  /** Put this in a short-lived, HttpOnly cookie; `handleCallback` needs it back. */
  loginId: string
  /** When the attempt expires, in seconds since the epoch (use it for the cookie's lifetime). */
  expiresAt: number
}

const RESERVED = new Set([
  'response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge',
  'code_challenge_method', 'prompt', 'max_age', 'login_hint', 'response_mode', 'request', 'request_uri', 'dpop_jkt',
])

/** One leading "/" (not "//"), then visible ASCII (`!`…`~`) but for the backslash. */
const SAFE_PATH = /^\/(?!\/)[\x21-\x5b\x5d-\x7e]*$/

/**
 * A relative path on this site, made of safe ASCII, or undefined. Accepted: one leading `/`, then
 * visible ASCII only, without a backslash (`/dashboard?tab=1#x`); anything else in it — a space, a
 * control character, a raw non-ASCII character like `/ü` or U+2028 — must come percent-encoded
 * (`/caf%C3%A9`). Refused: anything that could leave the site (`//evil`, `/\evil`, `https://…`,
 * `javascript:`) or that is not a path, and more than 2048 characters. What passes can always go in
 * a `Location` header, so a callback never fails on it after the code was redeemed. Use it on a
 * `returnTo` taken from a query string: unsafe values become undefined (the default place).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.11.1
 */
export function safeReturnTo(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 2048 || !SAFE_PATH.test(value)) return undefined
  const parsed = new URL(value, 'http://same-origin.invalid')
  return parsed.origin === 'http://same-origin.invalid' ? value : undefined
}

function checkOptions(options: AuthorizationUrlOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  if (options.scope !== undefined && (typeof options.scope !== 'string' || options.scope.trim() === '')) throw new TypeError('scope must be a non-empty string')
  if (options.returnTo !== undefined && safeReturnTo(options.returnTo) === undefined) {
    throw new TypeError('returnTo must be a same-origin path starting with a single "/", in visible ASCII without a backslash (percent-encode the rest; use safeReturnTo on untrusted input)')
  }
  if (options.maxAge !== undefined && (!Number.isInteger(options.maxAge) || options.maxAge < 0)) throw new TypeError('maxAge must be a non-negative integer')
  if (options.prompt !== undefined && typeof options.prompt !== 'string') throw new TypeError('prompt must be a string')
  if (options.prompt?.split(' ').includes('none') === true && options.maxAge === 0) throw new TypeError('prompt=none with maxAge 0 can never succeed')
  if (options.loginHint !== undefined && typeof options.loginHint !== 'string') throw new TypeError('loginHint must be a string')
  if (options.callerAddress !== undefined && (typeof options.callerAddress !== 'string' || options.callerAddress === '')) throw new TypeError('callerAddress must be a non-empty string')
  for (const [key, value] of Object.entries(options.extraParams ?? {})) {
    if (RESERVED.has(key)) throw new TypeError(`extraParams cannot set ${key}: the client sets it`)
    if (typeof value !== 'string') throw new TypeError(`extraParams.${key} must be a string`)
  }
}

/** Whether this login is pushed (RFC 9126 §5: the server may require it for every client). */
function usePar(option: 'auto' | 'always' | 'never', as: oauth.AuthorizationServer): boolean {
  if (option === 'never') return false
  return option === 'always' || as.require_pushed_authorization_requests === true
}

/** RFC 9126 §2: the request parameters POSTed, authenticated, to the PAR endpoint; its `request_uri` back. */
async function pushAuthorizationRequest(context: ClientContext, as: oauth.AuthorizationServer, params: URLSearchParams, dpop: oauth.DPoPHandle | undefined): Promise<string> {
  const { config } = context
  if (as.pushed_authorization_request_endpoint === undefined) {
    throw new InvalidResponseError('INVALID_RESPONSE', 'pushed authorization requests are asked for but the server has no pushed_authorization_request_endpoint')
  }
  const target = new URL(as.pushed_authorization_request_endpoint)
  const client = oauthClient(config)
  const authentication = await clientAuthentication(config)
  try {
    const result = await withDPoPNonceRetry(dpop, async () => {
      const response = await oauth.pushedAuthorizationRequest(as, client, authentication, params, { ...requestOptions(config, target), ...(dpop === undefined ? {} : { DPoP: dpop }) })
      return oauth.processPushedAuthorizationResponse(as, client, response)
    })
    return result.request_uri
  } catch (error) {
    throw toClientError(error, 'token')
  }
}

/**
 * Builds the authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636 §4.3) and remembers the
 * attempt in the login state store.
 *
 * @example
 * ```ts
 * const { url, loginId, expiresAt } = await client.buildAuthorizationUrl({ returnTo: '/dashboard' })
 * // Set-Cookie: login=<loginId>; HttpOnly; Secure; SameSite=Lax; Max-Age=<expiresAt - now>
 * // 302 Location: url
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4
 */
export async function buildAuthorizationUrl(context: ClientContext, options: AuthorizationUrlOptions = {}): Promise<AuthorizationUrl> {
  checkOptions(options)
  const timer = startTimer()
  const { config } = context
  const { as } = await context.metadata.get()
  const scope = options.scope ?? defaultScope(config, as.scopes_supported)
  const state = oauth.generateRandomState()
  const codeVerifier = oauth.generateRandomCodeVerifier()
  const nonce = scope.split(' ').includes('openid') ? oauth.generateRandomNonce() : undefined
  const now = config.now()

  const dpopKey = config.dpop === undefined ? undefined : await generateDPoPKey(config.dpop)
  const dpop = dpopKey === undefined ? undefined : await dpopHandle(config, dpopKey)
  const params = new URLSearchParams()
  params.set('response_type', 'code')
  params.set('client_id', config.clientId)
  params.set('redirect_uri', config.redirectUri)
  params.set('scope', scope)
  params.set('state', state)
  const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier)
  params.set('code_challenge', codeChallenge)
  params.set('code_challenge_method', 'S256')
  if (nonce !== undefined) params.set('nonce', nonce)
  if (options.prompt !== undefined) params.set('prompt', options.prompt)
  if (options.maxAge !== undefined) params.set('max_age', String(options.maxAge))
  if (options.loginHint !== undefined) params.set('login_hint', options.loginHint)
  for (const [key, value] of Object.entries(options.extraParams ?? {})) params.set(key, value)
  const url = new URL(as.authorization_endpoint as string)
  if (usePar(config.pushedAuthorizationRequests, as)) {
    // RFC 9126 §4: the browser carries only client_id and request_uri; a DPoP proof on the push binds the code (RFC 9449 §10.1).
    const requestUri = await pushAuthorizationRequest(context, as, params, dpop)
    url.searchParams.set('client_id', config.clientId)
    url.searchParams.set('request_uri', requestUri)
  } else {
    // RFC 9449 §10: dpop_jkt binds the code to the session's key.
    if (dpop !== undefined) params.set('dpop_jkt', await dpop.calculateThumbprint())
    for (const [key, value] of params) url.searchParams.set(key, value)
  }

  const loginId = randomId()
  const entry: LoginState = {
    state,
    codeVerifier,
    nonce,
    scope,
    redirectUri: config.redirectUri,
    issuer: as.issuer,
    returnTo: options.returnTo,
    maxAge: options.maxAge,
    caller: options.callerAddress === undefined ? undefined : callerKey(options.callerAddress),
    ...(dpopKey === undefined ? {} : { dpopKey }),
    createdAt: now,
    expiresAt: now + config.loginTtl,
  }
  await context.loginStates.save(loginId, entry)
  context.emit({
    type: 'authorization_request',
    at: timer.at,
    durationMs: timer.elapsed(),
    attempt: fingerprint(loginId),
    endpoint: withoutQuery(url),
    clientId: config.clientId,
    redirectUri: config.redirectUri,
    scope,
    state: fingerprint(state),
    codeVerifier: fingerprint(codeVerifier),
    codeChallenge: fingerprint(codeChallenge),
    codeChallengeMethod: 'S256',
    nonce: nonce === undefined ? undefined : fingerprint(nonce),
    prompt: options.prompt,
    maxAge: options.maxAge,
    expiresAt: entry.expiresAt,
  })
  return { url, loginId, expiresAt: entry.expiresAt }
}
