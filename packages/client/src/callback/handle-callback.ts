/**
 * The redirect back from the server: tie it to a login attempt of this browser, check `state` and
 * `iss` before anything else, exchange the code on the back channel, validate the ID token, and
 * open a session. Any failure before the exchange makes no request at all.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import * as oauth from 'oauth4webapi'
import { AuthorizationError, CallbackError, InvalidResponseError, NetworkError } from '../errors.js'
import { fingerprint, type CallbackEvent, type CheckOutcome, type TokenResponseSummary } from '../events.js'
import { randomId, sessionKey, type ClientContext } from '../internal/context.js'
import { eventError, startTimer, withoutQuery } from '../internal/events.js'
import type { LoginState } from '../login/state-store.js'
import { clientAuthentication, dpopHandle, oauthClient, requestOptions, toClientError, withDPoPNonceRetry } from '../internal/http.js'
import type { JsonValue, SessionRecord, TokenSet } from '../tokens/store.js'

export interface CallbackInput {
  /** The login id from the cookie `buildAuthorizationUrl` asked for; undefined when the cookie is missing. */
  loginId: string | undefined
  /**
   * The callback request's URL (absolute, or the path and query as a framework gives it, e.g.
   * Express `req.originalUrl`), or its query parameters.
   */
  url: URL | string | URLSearchParams
}

export interface CallbackResult {
  /** The new session; put it in the app's session cookie. */
  sessionId: string
  /** The validated ID token claims, when `openid` was asked. */
  claims: Readonly<Record<string, JsonValue | undefined>> | undefined
  tokens: TokenSet
  /** The same-origin path given to `buildAuthorizationUrl`, if any. */
  returnTo: string | undefined
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** RFC 6749 §10.12: exactly one `state`, equal to the stored one, compared in constant time. */
function checkState(params: URLSearchParams, expected: string): void {
  const received = params.getAll('state')
  if (received.length === 0) throw new CallbackError('STATE_MISMATCH', 'the callback has no state parameter')
  if (received.length > 1) throw new CallbackError('STATE_MISMATCH', 'the callback has more than one state parameter')
  if (!timingSafeEqual(digest(received[0] as string), digest(expected))) {
    throw new CallbackError('STATE_MISMATCH', 'the callback state does not match the login attempt')
  }
}

function callbackParameters(context: ClientContext, url: CallbackInput['url']): URLSearchParams {
  if (url instanceof URLSearchParams) return new URLSearchParams(url)
  if (url instanceof URL) return new URLSearchParams(url.searchParams)
  if (typeof url !== 'string') throw new TypeError('url must be a URL, a string or URLSearchParams')
  return new URL(url, context.config.redirectUri).searchParams
}

function tokenSet(result: oauth.TokenEndpointResponse, now: number): TokenSet {
  return {
    accessToken: result.access_token,
    tokenType: result.token_type,
    expiresAt: result.expires_in === undefined ? undefined : now + result.expires_in,
    refreshToken: result.refresh_token,
    idToken: result.id_token,
    scope: result.scope,
  }
}

/**
 * Completes a login. Refuses, without any request to the server: a missing login cookie, an
 * unknown, used or expired login attempt (a replayed callback), a missing, repeated or wrong
 * `state`, a wrong or (when the server advertises RFC 9207) missing `iss`, and `?error=` answers.
 *
 * @example
 * ```ts
 * const { sessionId, claims, returnTo } = await client.handleCallback({ loginId: cookies.login, url: req.originalUrl })
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 */
export async function handleCallback(context: ClientContext, input: CallbackInput): Promise<CallbackResult> {
  if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object')
  const timer = startTimer()
  const { config } = context
  const params = callbackParameters(context, input.url)
  const now = config.now()
  const loginId = typeof input.loginId === 'string' && input.loginId !== '' ? input.loginId : undefined
  const checks: { attempt: CheckOutcome; state: CheckOutcome; iss: CheckOutcome } = { attempt: 'not_reached', state: 'not_reached', iss: 'not_reached' }
  let issuer: string | undefined
  const emitCallback = (outcome: CallbackEvent['outcome'], error?: unknown): void =>
    context.emit({
      type: 'callback',
      at: timer.at,
      durationMs: timer.elapsed(),
      outcome,
      attempt: loginId === undefined ? undefined : fingerprint(loginId),
      received: receivedParameters(params),
      checks: { ...checks },
      issuer,
      error: error === undefined ? undefined : eventError(error),
    })

  let entry: LoginState
  let as: oauth.AuthorizationServer
  let validated: URLSearchParams
  try {
    if (loginId === undefined) {
      checks.attempt = 'failed'
      throw new CallbackError('LOGIN_NOT_FOUND', 'no login attempt: the login cookie is missing')
    }
    // Taken before any check: a failed callback burns the attempt (fresh values next time, CL-01).
    const taken = await context.loginStates.take(loginId, now)
    checks.attempt = taken === undefined || taken.expiresAt <= now ? 'failed' : 'passed'
    if (taken === undefined) throw new CallbackError('LOGIN_NOT_FOUND', 'no login attempt matches: unknown, already used or expired')
    if (taken.expiresAt <= now) throw new CallbackError('LOGIN_EXPIRED', 'the login attempt expired')
    entry = taken
    issuer = entry.issuer
    checks.state = 'failed'
    checkState(params, entry.state)
    checks.state = 'passed'
    as = (await context.metadata.get()).as
    // RFC 9700 §4.4 / OAuth 2.1 §7.15: the code goes only to the server the attempt was started at.
    if (as.issuer !== entry.issuer) {
      checks.iss = 'failed'
      throw new CallbackError('ISSUER_MISMATCH', 'the login attempt was started at another issuer')
    }
    validated = validateCallback(as, oauthClient(config), params, entry.state)
    checks.iss = params.has('iss') ? 'passed' : 'absent'
    if (validated.getAll('code').length !== 1) throw new CallbackError('INVALID_CALLBACK', 'callback refused: exactly one "code" parameter expected')
  } catch (error) {
    if (error instanceof AuthorizationError) checks.iss = params.has('iss') ? 'passed' : 'absent'
    else if (error instanceof CallbackError && checks.state === 'passed' && checks.iss === 'not_reached') {
      checks.iss = error.code === 'ISSUER_MISMATCH' ? 'failed' : params.has('iss') ? 'passed' : 'absent'
    }
    emitCallback(error instanceof AuthorizationError ? 'error_response' : 'refused', error)
    throw error
  }
  emitCallback('accepted')
  return exchangeCode(context, as, params, validated, entry, now)
}

/** What a callback carried, secrets as fingerprints. A repeated parameter shows as absent. */
function receivedParameters(params: URLSearchParams): CallbackEvent['received'] {
  const one = (name: string): string | undefined => {
    const values = params.getAll(name)
    return values.length === 1 ? values[0] : undefined
  }
  const code = one('code')
  const state = one('state')
  return { code: code === undefined ? undefined : fingerprint(code), state: state === undefined ? undefined : fingerprint(state), iss: one('iss'), error: one('error') }
}

/** oauth4webapi's checks of the authorization response (`iss`, `state`, `error`), as typed errors. */
function validateCallback(as: oauth.AuthorizationServer, client: oauth.Client, params: URLSearchParams, state: string): URLSearchParams {
  try {
    return oauth.validateAuthResponse(as, client, params, state)
  } catch (error) {
    if (error instanceof oauth.OperationProcessingError) {
      throw new CallbackError(/"iss"/.test(error.message) ? 'ISSUER_MISMATCH' : 'INVALID_CALLBACK', `callback refused: ${error.message}`)
    }
    if (error instanceof oauth.UnsupportedOperationError) throw new CallbackError('INVALID_CALLBACK', `callback refused: ${error.message}`)
    throw toClientError(error, 'token')
  }
}

/** The back-channel code exchange (RFC 6749 §4.1.3), the ID token's validation, and the new session. */
async function exchangeCode(
  context: ClientContext,
  as: oauth.AuthorizationServer,
  params: URLSearchParams,
  validated: URLSearchParams,
  entry: LoginState,
  now: number,
): Promise<CallbackResult> {
  const { config } = context
  const timer = startTimer()
  const client = oauthClient(config)
  const tokenEndpoint = new URL(as.token_endpoint as string)
  const code = params.get('code')
  const sessionId = randomId()
  let status: number | undefined
  const emitToken = (response: TokenResponseSummary | undefined, error?: unknown): void =>
    context.emit({
      type: 'token',
      grant: 'authorization_code',
      at: timer.at,
      durationMs: timer.elapsed(),
      endpoint: withoutQuery(tokenEndpoint),
      authMethod: config.authMethod,
      clientSecret: config.clientSecret === undefined ? undefined : fingerprint(config.clientSecret),
      code: code === null ? undefined : fingerprint(code),
      codeVerifier: fingerprint(entry.codeVerifier),
      refreshToken: undefined,
      session: fingerprint(sessionId),
      status,
      response,
      error: error === undefined ? undefined : eventError(error),
      sessionEnded: false,
    })
  try {
    const authentication = await clientAuthentication(config)
    // RFC 9449 §5: the proof is made with the login's key, the one the code is bound to.
    const dpop = entry.dpopKey === undefined ? undefined : await dpopHandle(config, entry.dpopKey)
    let response: Response
    let result: oauth.TokenEndpointResponse
    try {
      ;[response, result] = await withDPoPNonceRetry(dpop, async () => {
        let response: Response
        try {
          response = await oauth.authorizationCodeGrantRequest(as, client, authentication, validated, entry.redirectUri, entry.codeVerifier, {
            ...requestOptions(config, tokenEndpoint),
            ...(dpop === undefined ? {} : { DPoP: dpop }),
          })
        } catch (error) {
          if (error instanceof NetworkError) throw error
          if (error instanceof oauth.OperationProcessingError) throw new CallbackError('INVALID_CALLBACK', `callback refused: ${error.message}`)
          throw error
        }
        status = response.status
        const processed = await oauth.processAuthorizationCodeResponse(as, client, response, {
          expectedNonce: entry.nonce ?? oauth.expectNoNonce,
          maxAge: entry.maxAge ?? oauth.skipAuthTimeCheck,
          requireIdToken: entry.nonce !== undefined,
        })
        return [response, processed] as const
      })
    } catch (error) {
      throw toClientError(error, 'token')
    }
    if (dpop !== undefined && result.token_type !== 'dpop') {
      throw new InvalidResponseError('INVALID_RESPONSE', `the server issued a ${result.token_type} token where a DPoP-bound one was asked for`)
    }
    const claims = result.id_token === undefined ? undefined : await verifiedIdTokenClaims(context, as, response, result)
    const tokens = tokenSet(result, config.now())
    const record: SessionRecord = {
      tokens,
      claims,
      createdAt: now,
      updatedAt: now,
      expiresAt: now + config.sessionTtl,
      ...(entry.dpopKey === undefined ? {} : { dpopKey: entry.dpopKey }),
    }
    await context.tokens.set(sessionKey(sessionId), record)
    emitToken(tokenResponseSummary(result, claims))
    return { sessionId, claims, tokens, returnTo: entry.returnTo }
  } catch (error) {
    emitToken(undefined, error)
    throw error
  }
}

/** A token response as events show it: tokens as fingerprints, the ID token's times. */
export function tokenResponseSummary(result: oauth.TokenEndpointResponse, claims: Readonly<Record<string, JsonValue | undefined>> | undefined): TokenResponseSummary {
  const time = (name: string): number | undefined => {
    const value = claims?.[name]
    return typeof value === 'number' ? value : undefined
  }
  return {
    tokenType: result.token_type,
    expiresIn: result.expires_in,
    scope: result.scope,
    accessToken: fingerprint(result.access_token),
    refreshToken: result.refresh_token === undefined ? undefined : fingerprint(result.refresh_token),
    idToken: result.id_token === undefined ? undefined : fingerprint(result.id_token),
    authTime: time('auth_time'),
    idTokenIssuedAt: time('iat'),
    idTokenExpiresAt: time('exp'),
    sid: typeof claims?.sid === 'string' ? fingerprint(claims.sid) : undefined,
  }
}

/**
 * oauth4webapi has checked the ID token's claims (`iss`, `aud`, `azp`, `exp`, `iat`, `nonce`,
 * `auth_time`); this checks its signature against the server's JWKS as well (SECURITY.md 21).
 */
export async function verifiedIdTokenClaims(
  context: ClientContext,
  as: oauth.AuthorizationServer,
  response: Response,
  result: oauth.TokenEndpointResponse,
): Promise<Record<string, JsonValue | undefined>> {
  if (as.jwks_uri === undefined) throw new InvalidResponseError('INVALID_ID_TOKEN', 'ID token rejected: the server has no jwks_uri to verify its signature with')
  try {
    await oauth.validateApplicationLevelSignature(as, response, requestOptions(context.config, new URL(as.jwks_uri)))
  } catch (error) {
    throw toClientError(error, 'id_token')
  }
  const claims = oauth.getValidatedIdTokenClaims(result)
  if (claims === undefined) throw new InvalidResponseError('INVALID_ID_TOKEN', 'ID token rejected: no validated claims')
  return { ...claims }
}
