/**
 * One error base class with a stable `code` (jose's pattern). Every failure that comes from the
 * network, the authorization server or the user's browser is an `AuthcodeClientError`; a caller's
 * mistake (a bad option, a bad argument) is a plain `TypeError`.
 *
 * Messages and properties never carry a token, a code, a secret or a `code_verifier`: it is safe to
 * log these errors. The raw oauth4webapi error is not kept as `cause` because its `cause` can hold
 * a token response body.
 */

/** Every code an `AuthcodeClientError` can carry. */
export type AuthcodeClientErrorCode =
  // the callback
  | 'LOGIN_NOT_FOUND'
  | 'LOGIN_EXPIRED'
  | 'STATE_MISMATCH'
  | 'ISSUER_MISMATCH'
  | 'INVALID_CALLBACK'
  | 'AUTHORIZATION_ERROR'
  // the back channel
  | 'INVALID_GRANT'
  | 'TOKEN_ENDPOINT_ERROR'
  | 'NETWORK_ERROR'
  | 'INVALID_RESPONSE'
  | 'INVALID_ID_TOKEN'
  | 'DISCOVERY_FAILED'
  | 'DISCOVERY_MISMATCH'
  | 'REVOCATION_FAILED'
  | 'USERINFO_FAILED'
  // sessions
  | 'SESSION_NOT_FOUND'
  | 'SESSION_ENDED'
  | 'REFRESH_LOCK_TIMEOUT'
  // back-channel logout
  | 'INVALID_LOGOUT_TOKEN'
  // the stores
  | 'STORE_UNAVAILABLE'

export class AuthcodeClientError extends Error {
  readonly code: AuthcodeClientErrorCode

  constructor(code: AuthcodeClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** The callback could not be tied to a login attempt of this browser, or failed its checks. */
export class CallbackError extends AuthcodeClientError {
  constructor(code: 'LOGIN_NOT_FOUND' | 'LOGIN_EXPIRED' | 'STATE_MISMATCH' | 'ISSUER_MISMATCH' | 'INVALID_CALLBACK', message: string) {
    super(code, message)
  }
}

/**
 * The authorization server answered the authorization request with `?error=` (RFC 6749 §4.1.2.1),
 * after `state` and `iss` were checked.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
 */
export class AuthorizationError extends AuthcodeClientError {
  readonly error: string
  readonly error_description: string | undefined

  constructor(error: string, errorDescription: string | undefined) {
    super('AUTHORIZATION_ERROR', `the authorization server answered with error ${JSON.stringify(error)}`)
    this.error = error
    this.error_description = errorDescription
  }
}

/**
 * A back-channel endpoint answered with an OAuth error body or `WWW-Authenticate` challenge
 * (RFC 6749 §5.2, RFC 6750 §3). At the token endpoint `code` is `INVALID_GRANT` for
 * `invalid_grant` and `TOKEN_ENDPOINT_ERROR` otherwise; `REVOCATION_FAILED` and `USERINFO_FAILED`
 * at those endpoints.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export class OAuthServerError extends AuthcodeClientError {
  readonly error: string
  readonly error_description: string | undefined
  readonly status: number

  constructor(error: string, errorDescription: string | undefined, status: number, code: 'INVALID_GRANT' | 'TOKEN_ENDPOINT_ERROR' | 'REVOCATION_FAILED' | 'USERINFO_FAILED' = error === 'invalid_grant' ? 'INVALID_GRANT' : 'TOKEN_ENDPOINT_ERROR') {
    super(code, `the authorization server answered with error ${JSON.stringify(error)} (HTTP ${status})`)
    this.error = error
    this.error_description = errorDescription
    this.status = status
  }
}

/** The request did not get an HTTP response: refused connection, DNS failure, timeout. Never retried. */
export class NetworkError extends AuthcodeClientError {
  readonly timedOut: boolean

  constructor(url: string, timedOut: boolean, cause: unknown) {
    super('NETWORK_ERROR', timedOut ? `request to ${url} timed out` : `request to ${url} failed`, { cause: causeSummary(cause) })
    this.timedOut = timedOut
  }
}

/**
 * A response that does not follow the protocol, or an ID token that fails validation.
 * `DISCOVERY_MISMATCH`: the discovered metadata disagrees with the AsyncAPI document the client was
 * configured from; the message names each disagreement.
 */
export class InvalidResponseError extends AuthcodeClientError {
  /** oauth4webapi's `OAUTH_*` code, when it found the problem. */
  readonly reason: string | undefined

  constructor(code: 'INVALID_RESPONSE' | 'INVALID_ID_TOKEN' | 'DISCOVERY_FAILED' | 'DISCOVERY_MISMATCH', message: string, reason?: string) {
    super(code, message)
    this.reason = reason
  }
}

/**
 * A back-channel logout token failed validation (OpenID Back-Channel Logout §2.6): its signature,
 * `iss`, `aud`, `iat`, `exp`, `typ`, the event, `sid`/`sub`, a `nonce` where none may be, or a
 * replayed `jti`. The message says which check failed, never the token.
 */
export class LogoutTokenError extends AuthcodeClientError {
  constructor(message: string) {
    super('INVALID_LOGOUT_TOKEN', message)
  }
}

/** The session is unknown, or it ended (its refresh token was refused, it expired, it was logged out). */
export class SessionError extends AuthcodeClientError {
  constructor(code: 'SESSION_NOT_FOUND' | 'SESSION_ENDED' | 'REFRESH_LOCK_TIMEOUT', message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

/**
 * A login state store or token store did not answer: Redis down or unreachable, a command that
 * timed out, a SQLite file that is locked or unwritable. Nothing was changed that the caller relies
 * on; the same call may succeed once the store is back (no restart needed). The message names the
 * store and what failed, never a key or a value.
 */
export class StoreError extends AuthcodeClientError {
  constructor(message: string, cause?: unknown) {
    // Only the driver error's name, message and code: a driver may hang the command (keys, values:
    // tokens) on its error object.
    super('STORE_UNAVAILABLE', message, cause === undefined ? undefined : { cause: causeSummary(cause) })
  }
}

/**
 * Keeps only the system or driver error's name, code and message (they name hosts and failures,
 * never request bodies, keys or values).
 */
function causeSummary(cause: unknown): unknown {
  if (!(cause instanceof Error)) return undefined
  const inner = cause.cause instanceof Error ? cause.cause : cause
  const code = (inner as { code?: unknown }).code
  return { name: inner.name, message: inner.message, ...(typeof code === 'string' ? { code } : {}) }
}
