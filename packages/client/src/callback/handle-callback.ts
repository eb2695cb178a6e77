/**
 * The redirect back from the server: tie it to a login attempt of this browser, check `state` and
 * `iss` before anything else, exchange the code on the back channel, validate the ID token, and
 * open a session. Any failure before the exchange makes no request at all.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import * as oauth from 'oauth4webapi'
import { CallbackError, InvalidResponseError, NetworkError } from '../errors.js'
import { randomId, sessionKey, type ClientContext } from '../internal/context.js'
import { clientAuthentication, oauthClient, requestOptions, toClientError } from '../internal/http.js'
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
  const { config } = context
  const params = callbackParameters(context, input.url)
  const now = config.now()

  if (typeof input.loginId !== 'string' || input.loginId === '') {
    throw new CallbackError('LOGIN_NOT_FOUND', 'no login attempt: the login cookie is missing')
  }
  // Taken before any check: a failed callback burns the attempt (fresh values next time, CL-01).
  const entry = await context.loginStates.take(input.loginId, now)
  if (entry === undefined) throw new CallbackError('LOGIN_NOT_FOUND', 'no login attempt matches: unknown, already used or expired')
  if (entry.expiresAt <= now) throw new CallbackError('LOGIN_EXPIRED', 'the login attempt expired')
  checkState(params, entry.state)

  const { as } = await context.metadata.get()
  // RFC 9700 §4.4 / OAuth 2.1 §7.15: the code goes only to the server the attempt was started at.
  if (as.issuer !== entry.issuer) throw new CallbackError('ISSUER_MISMATCH', 'the login attempt was started at another issuer')
  const client = oauthClient(config)
  let validated: URLSearchParams
  try {
    validated = oauth.validateAuthResponse(as, client, params, entry.state)
  } catch (error) {
    if (error instanceof oauth.OperationProcessingError) {
      throw new CallbackError(/"iss"/.test(error.message) ? 'ISSUER_MISMATCH' : 'INVALID_CALLBACK', `callback refused: ${error.message}`)
    }
    if (error instanceof oauth.UnsupportedOperationError) throw new CallbackError('INVALID_CALLBACK', `callback refused: ${error.message}`)
    throw toClientError(error, 'token')
  }

  const tokenEndpoint = new URL(as.token_endpoint as string)
  let response: Response
  try {
    response = await oauth.authorizationCodeGrantRequest(as, client, clientAuthentication(config), validated, entry.redirectUri, entry.codeVerifier, requestOptions(config, tokenEndpoint))
  } catch (error) {
    if (error instanceof NetworkError) throw error
    if (error instanceof oauth.OperationProcessingError) throw new CallbackError('INVALID_CALLBACK', `callback refused: ${error.message}`)
    throw toClientError(error, 'token')
  }

  let result: oauth.TokenEndpointResponse
  try {
    result = await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: entry.nonce ?? oauth.expectNoNonce,
      maxAge: entry.maxAge ?? oauth.skipAuthTimeCheck,
      requireIdToken: entry.nonce !== undefined,
    })
  } catch (error) {
    throw toClientError(error, 'token')
  }
  const claims = result.id_token === undefined ? undefined : await verifiedIdTokenClaims(context, as, response, result)

  const tokens = tokenSet(result, config.now())
  const sessionId = randomId()
  const record: SessionRecord = { tokens, claims, createdAt: now, updatedAt: now }
  await context.tokens.set(sessionKey(sessionId), record)
  return { sessionId, claims, tokens, returnTo: entry.returnTo }
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
