/**
 * Ending a session: revoke its refresh token (or, without one, its access token) at the server
 * (RFC 7009), drop it from the store, and point the browser at RP-initiated logout when the server
 * offers it.
 */
import * as oauth from 'oauth4webapi'
import { AuthcodeClientError, SessionError } from '../errors.js'
import { fingerprint } from '../events.js'
import { randomId, sessionKey, type ClientContext } from '../internal/context.js'
import { eventError, startTimer, withoutQuery } from '../internal/events.js'
import { clientAuthentication, oauthClient, requestOptions, toClientError } from '../internal/http.js'

/**
 * Revokes the session's refresh token (the server revokes its access tokens with it), or its access
 * token when it has no refresh token, then deletes the session — also when revocation fails (the
 * error is still thrown). Resolves to false when the server has no revocation endpoint.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export async function revoke(context: ClientContext, sessionId: string): Promise<boolean> {
  if (typeof sessionId !== 'string' || sessionId === '') throw new TypeError('sessionId must be a non-empty string')
  const key = sessionKey(sessionId)
  const record = await context.tokens.get(key, context.config.now())
  if (record === undefined) throw new SessionError('SESSION_NOT_FOUND', 'no such session (never opened, logged out, or ended)')
  const timer = startTimer()
  const { refreshToken, accessToken } = record.tokens
  const [token, hint] = refreshToken === undefined ? [accessToken, 'access_token' as const] : [refreshToken, 'refresh_token' as const]
  let endpoint: string | undefined
  const emitRevocation = (outcome: 'revoked' | 'failed' | 'skipped', error?: unknown): void =>
    context.emit({
      type: 'revocation',
      at: timer.at,
      durationMs: timer.elapsed(),
      outcome,
      endpoint,
      tokenTypeHint: hint,
      token: fingerprint(token),
      session: fingerprint(sessionId),
      error: error === undefined ? undefined : eventError(error),
    })
  try {
    const { as } = await context.metadata.get()
    if (as.revocation_endpoint === undefined) {
      emitRevocation('skipped')
      return false
    }
    endpoint = withoutQuery(as.revocation_endpoint)
    const response = await oauth.revocationRequest(as, oauthClient(context.config), await clientAuthentication(context.config), token, {
      ...requestOptions(context.config, new URL(as.revocation_endpoint)),
      additionalParameters: { token_type_hint: hint },
    })
    await oauth.processRevocationResponse(response)
    emitRevocation('revoked')
    return true
  } catch (caught) {
    const error = toClientError(caught, 'revocation')
    emitRevocation('failed', error)
    throw error
  } finally {
    await context.tokens.delete(key)
  }
}

export interface LogoutResult {
  /** True when the server confirmed the revocation. */
  revoked: boolean
  /** Why revocation failed (the local session is gone anyway). */
  revocationError: AuthcodeClientError | undefined
  /**
   * Where to send the browser for RP-initiated logout (OIDC RP-Initiated Logout 1.0 §2), when the
   * server advertises an `end_session_endpoint`: `client_id`, the session's ID token as
   * `id_token_hint` (so the server signs the user out without asking), `post_logout_redirect_uri`
   * when configured, and a fresh `state`.
   */
  endSessionUrl: URL | undefined
  /** The `state` of `endSessionUrl`, which the server returns with the redirect to `post_logout_redirect_uri` (§3). */
  state: string | undefined
}

/**
 * Logs a session out: `revoke` (errors reported, not thrown), then the end-session URL. A session
 * that does not exist logs out quietly (`revoked: false`).
 *
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout
 */
export interface LogoutOptions {
  /**
   * Put the session's ID token in the end-session URL as `id_token_hint` (default true): the server
   * then signs the user out without asking. False keeps every token off the URL (SECURITY.md 21);
   * the server asks the user first.
   */
  idTokenHint?: boolean
  /** Put a fresh `state` in the end-session URL (default true), for an app that checks it when the browser comes back. */
  state?: boolean
}

export async function logout(context: ClientContext, sessionId: string, options: LogoutOptions = {}): Promise<LogoutResult> {
  if (typeof sessionId !== 'string' || sessionId === '') throw new TypeError('sessionId must be a non-empty string')
  const record = await context.tokens.get(sessionKey(sessionId), context.config.now())
  if (record === undefined) return { revoked: false, revocationError: undefined, endSessionUrl: undefined, state: undefined }
  let revoked = false
  let revocationError: AuthcodeClientError | undefined
  try {
    revoked = await revoke(context, sessionId)
  } catch (error) {
    if (!(error instanceof AuthcodeClientError)) throw error
    revocationError = error
  }
  let endSessionUrl: URL | undefined
  let state: string | undefined
  try {
    const { as } = await context.metadata.get()
    if (as.end_session_endpoint !== undefined) {
      const timer = startTimer()
      const { clientId, postLogoutRedirectUri } = context.config
      const idTokenHint = options.idTokenHint === false ? undefined : record.tokens.idToken
      state = options.state === false ? undefined : randomId()
      endSessionUrl = new URL(as.end_session_endpoint)
      endSessionUrl.searchParams.set('client_id', clientId)
      if (idTokenHint !== undefined) endSessionUrl.searchParams.set('id_token_hint', idTokenHint)
      if (postLogoutRedirectUri !== undefined) endSessionUrl.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri)
      if (state !== undefined) endSessionUrl.searchParams.set('state', state)
      context.emit({
        type: 'end_session',
        at: timer.at,
        durationMs: timer.elapsed(),
        endpoint: withoutQuery(endSessionUrl),
        clientId,
        postLogoutRedirectUri,
        idTokenHint: idTokenHint === undefined ? undefined : fingerprint(idTokenHint),
        state: state === undefined ? undefined : fingerprint(state),
        session: fingerprint(sessionId),
      })
    }
  } catch (error) {
    if (!(error instanceof AuthcodeClientError)) throw error
  }
  return { revoked, revocationError, endSessionUrl, state }
}
