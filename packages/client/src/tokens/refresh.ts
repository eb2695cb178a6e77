/**
 * Keeping a session's access token usable: refresh ahead of expiry, one refresh at a time per
 * session — shared by concurrent callers in this process, and serialized across processes by the
 * store's lease — with rotation (the new refresh token replaces the old) and a clean end of the
 * session on `invalid_grant`.
 */
import * as oauth from 'oauth4webapi'
import { tokenResponseSummary, verifiedIdTokenClaims } from '../callback/handle-callback.js'
import { AuthcodeClientError, InvalidResponseError, OAuthServerError, SessionError } from '../errors.js'
import { fingerprint, type Fingerprint, type TokenResponseSummary } from '../events.js'
import { randomId, sessionKey, type ClientContext } from '../internal/context.js'
import { eventError, startTimer, withoutQuery } from '../internal/events.js'
import { clientAuthentication, dpopHandle, oauthClient, requestOptions, toClientError, withDPoPNonceRetry } from '../internal/http.js'
import type { SessionRecord } from './store.js'

/**
 * Whether the record needs a refresh. With `rejected` (an access token a resource server refused),
 * only when the stored token is still that one: if it differs, someone refreshed already.
 */
function needsRefresh(context: ClientContext, record: SessionRecord, rejected: string | undefined): boolean {
  if (rejected !== undefined) return record.tokens.accessToken === rejected
  const { expiresAt } = record.tokens
  return expiresAt !== undefined && expiresAt - context.config.now() <= context.config.refreshLeeway
}

/**
 * The session's record with an access token that is not about to expire (or, with `rejected`, is
 * not that refused token), refreshing it when needed.
 */
export async function freshSession(context: ClientContext, sessionId: string, rejected?: string): Promise<SessionRecord> {
  if (typeof sessionId !== 'string' || sessionId === '') throw new TypeError('sessionId must be a non-empty string')
  const key = sessionKey(sessionId)
  const record = await context.tokens.get(key, context.config.now())
  if (record === undefined) throw new SessionError('SESSION_NOT_FOUND', 'no such session (never opened, logged out, or ended)')
  if (!needsRefresh(context, record, rejected)) return record

  const inFlight = context.refreshes.get(key)
  if (inFlight !== undefined) return inFlight
  const pending: Promise<SessionRecord> = refreshUnderLock(context, key, fingerprint(sessionId), rejected).finally(() => {
    if (context.refreshes.get(key) === pending) context.refreshes.delete(key)
  })
  context.refreshes.set(key, pending)
  return pending
}

/** Takes the store's lease, or waits for whoever holds it and uses what they stored. */
async function refreshUnderLock(context: ClientContext, key: string, session: Fingerprint, rejected: string | undefined): Promise<SessionRecord> {
  const { config, tokens } = context
  const owner = randomId()
  const attempts = Math.max(1, Math.ceil(config.refreshLockWaitMs / config.refreshLockPollMs))
  for (let attempt = 1; ; attempt++) {
    const now = config.now()
    if (await tokens.acquireRefreshLock(key, owner, now + config.refreshLockTtl, now)) {
      try {
        // Re-read under the lock: another process may have refreshed since the first look.
        const record = await tokens.get(key, config.now())
        if (record === undefined) throw new SessionError('SESSION_ENDED', 'the session ended')
        if (!needsRefresh(context, record, rejected)) return record
        return await refresh(context, key, session, record, rejected)
      } finally {
        await tokens.releaseRefreshLock(key, owner)
      }
    }
    const record = await tokens.get(key, config.now())
    if (record === undefined) throw new SessionError('SESSION_ENDED', 'the session ended while another refresh was in progress')
    if (!needsRefresh(context, record, rejected)) return record
    if (attempt >= attempts) throw new SessionError('REFRESH_LOCK_TIMEOUT', 'gave up waiting for another process to refresh this session')
    await context.wait(config.refreshLockPollMs)
  }
}

async function endSession(context: ClientContext, key: string, message: string, cause?: unknown): Promise<never> {
  await context.tokens.delete(key)
  throw new SessionError('SESSION_ENDED', message, cause === undefined ? undefined : { cause })
}

/**
 * One refresh token grant (RFC 6749 §6). Called only under the lock.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 * @see https://openid.net/specs/openid-connect-core-1_0.html#RefreshTokenResponse
 */
async function refresh(context: ClientContext, key: string, session: Fingerprint, record: SessionRecord, rejected: string | undefined): Promise<SessionRecord> {
  const { config } = context
  const current = record.tokens
  const expired = current.expiresAt !== undefined && current.expiresAt <= config.now()
  const refreshToken = current.refreshToken
  if (refreshToken === undefined) {
    if (expired || rejected !== undefined) return endSession(context, key, 'the access token expired and the session has no refresh token')
    return record
  }

  let result: oauth.TokenEndpointResponse
  let claims = record.claims
  const timer = startTimer()
  let endpoint: string | undefined
  let status: number | undefined
  const emitToken = (response: TokenResponseSummary | undefined, error?: unknown, sessionEnded = false): void =>
    context.emit({
      type: 'token',
      grant: 'refresh_token',
      at: timer.at,
      durationMs: timer.elapsed(),
      endpoint: endpoint ?? '',
      authMethod: config.authMethod,
      clientSecret: config.clientSecret === undefined ? undefined : fingerprint(config.clientSecret),
      code: undefined,
      codeVerifier: undefined,
      refreshToken: fingerprint(refreshToken),
      session,
      status,
      response,
      error: error === undefined ? undefined : eventError(error),
      sessionEnded,
    })
  try {
    const { as, refreshAs } = await context.metadata.get()
    const client = oauthClient(config)
    const target = new URL(refreshAs.token_endpoint as string)
    endpoint = withoutQuery(target)
    const authentication = await clientAuthentication(config)
    // RFC 9449 §5: a DPoP session refreshes with its own key (the refresh token may be bound to it).
    const dpop = record.dpopKey === undefined ? undefined : await dpopHandle(config, record.dpopKey)
    let response: Response
    ;[response, result] = await withDPoPNonceRetry(dpop, async () => {
      const response = await oauth.refreshTokenGrantRequest(refreshAs, client, authentication, refreshToken, { ...requestOptions(config, target), ...(dpop === undefined ? {} : { DPoP: dpop }) })
      status = response.status
      return [response, await oauth.processRefreshTokenResponse(as, client, response)] as const
    })
    if (result.id_token !== undefined) {
      const fresh = await verifiedIdTokenClaims(context, as, response, result)
      // OIDC Core §12.2: same iss (checked by oauth4webapi) and same sub as the first ID token.
      if (record.claims !== undefined && fresh.sub !== record.claims.sub) {
        throw new InvalidResponseError('INVALID_ID_TOKEN', 'ID token rejected: the refreshed ID token is for another subject')
      }
      claims = fresh
    }
  } catch (caught) {
    const error = toClientError(caught, 'token')
    if (error instanceof OAuthServerError && error.code === 'INVALID_GRANT') {
      emitToken(undefined, error, true)
      return endSession(context, key, 'the refresh token was refused (invalid_grant): the user must log in again', error)
    }
    if (error instanceof InvalidResponseError && error.code === 'INVALID_ID_TOKEN') {
      emitToken(undefined, error, true)
      return endSession(context, key, 'the refresh response carried an invalid ID token', error)
    }
    emitToken(undefined, error)
    // A passing failure (network, 5xx) while the current token still works: keep using it.
    if (error instanceof AuthcodeClientError && !expired && rejected === undefined) return record
    throw error
  }
  const now = config.now()
  const updated: SessionRecord = {
    tokens: {
      accessToken: result.access_token,
      tokenType: result.token_type,
      expiresAt: result.expires_in === undefined ? undefined : now + result.expires_in,
      // OAuth 2.1 §4.3.2: a rotated refresh token replaces the old one; none issued keeps the old one.
      refreshToken: result.refresh_token ?? refreshToken,
      idToken: result.id_token ?? current.idToken,
      scope: result.scope ?? current.scope,
    },
    claims,
    createdAt: record.createdAt,
    updatedAt: now,
    expiresAt: now + config.sessionTtl,
    ...(record.dpopKey === undefined ? {} : { dpopKey: record.dpopKey }),
  }
  await context.tokens.set(key, updated)
  // Claims of a refreshed ID token, or none: the first ID token's auth_time is not this response's.
  emitToken(tokenResponseSummary(result, result.id_token === undefined ? undefined : claims))
  return updated
}
