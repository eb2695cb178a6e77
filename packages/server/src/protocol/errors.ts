/**
 * The one error type of the protocol layer. Every RFC error that leaves the server is an
 * `OAuthError`; the HTTP layer renders it as JSON (RFC 6749 §5.2), as a redirect to a trusted
 * `redirect_uri` (§4.1.2.1), as an HTML page, or as a Bearer challenge (RFC 6750 §3).
 */

/** Every error code the server emits, by the RFC that defines it. */
export type OAuthErrorCode =
  // RFC 6749 §4.1.2.1 and §5.2
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  // OpenID Connect Core §3.1.2.6
  | 'login_required'
  | 'consent_required'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  // RFC 6750 §3.1
  | 'invalid_token'
  | 'insufficient_scope'
  // RFC 9126 §2.3, OIDC Core §3.1.2.6: a request_uri that is unknown, used, expired or another client's
  | 'invalid_request_uri'
  // RFC 7591 §3.2.2: a refused registration
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'invalid_software_statement'
  | 'unapproved_software_statement'
  // RFC 9449 §5, §8
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  // RFC 8707 §2: a resource indicator that is malformed, unknown, or not the grant's
  | 'invalid_target'

/** The HTTP status each code is sent with unless a factory overrides it (throttling: 429). */
export const ERROR_STATUS: Readonly<Record<OAuthErrorCode, number>> = Object.freeze({
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  unsupported_response_type: 400,
  invalid_scope: 400,
  access_denied: 400,
  server_error: 500,
  temporarily_unavailable: 503,
  login_required: 400,
  consent_required: 400,
  request_not_supported: 400,
  request_uri_not_supported: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  invalid_request_uri: 400,
  invalid_redirect_uri: 400,
  invalid_client_metadata: 400,
  invalid_software_statement: 400,
  unapproved_software_statement: 400,
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
  invalid_target: 400,
})

// RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
const DESCRIPTION_CHARSET = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/

export interface OAuthErrorOptions {
  /** Overrides the status that follows from the code (429 when throttled). */
  status?: number
  /** Seconds the client should wait, sent as `Retry-After`. */
  retryAfter?: number
  /** RFC 6750 §3: the scope a resource needed, for `insufficient_scope`. */
  scope?: string
  /** Internal cause, logged, never serialized. */
  cause?: unknown
}

export class OAuthError extends Error {
  override readonly name = 'OAuthError'
  readonly error: OAuthErrorCode
  readonly status: number
  readonly description: string
  readonly retryAfter: number | undefined
  readonly scope: string | undefined

  constructor(error: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}) {
    if (!DESCRIPTION_CHARSET.test(description)) {
      throw new TypeError(`error_description outside the RFC 6749 §5.2 charset: ${JSON.stringify(description)}`)
    }
    super(description, options.cause === undefined ? undefined : { cause: options.cause })
    this.error = error
    this.description = description
    this.status = options.status ?? ERROR_STATUS[error]
    this.retryAfter = options.retryAfter
    this.scope = options.scope
  }

  /** The RFC 6749 §5.2 body. Nothing else (no cause, no stack) is ever serialized. */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.description }
  }
}

export const isOAuthError = (value: unknown): value is OAuthError => value instanceof OAuthError

export const invalidRequest = (description: string, options?: OAuthErrorOptions) =>
  new OAuthError('invalid_request', description, options)
export const invalidClient = (description: string, options?: OAuthErrorOptions) =>
  new OAuthError('invalid_client', description, options)
export const invalidGrant = (description: string, options?: OAuthErrorOptions) =>
  new OAuthError('invalid_grant', description, options)
export const unauthorizedClient = (description: string) => new OAuthError('unauthorized_client', description)
export const unsupportedGrantType = (description: string) => new OAuthError('unsupported_grant_type', description)
export const unsupportedResponseType = (description: string) =>
  new OAuthError('unsupported_response_type', description)
export const invalidScope = (description: string) => new OAuthError('invalid_scope', description)
export const accessDenied = (description: string) => new OAuthError('access_denied', description)
export const serverError = (cause: unknown) =>
  new OAuthError('server_error', 'the server could not complete the request', { cause })
export const temporarilyUnavailable = (cause: unknown) =>
  new OAuthError('temporarily_unavailable', 'the server is temporarily unavailable, retry later', {
    cause,
    retryAfter: 5,
  })
export const loginRequired = (description: string) => new OAuthError('login_required', description)
export const consentRequired = (description: string) => new OAuthError('consent_required', description)
export const invalidRedirectUri = (description: string) => new OAuthError('invalid_redirect_uri', description)
export const invalidClientMetadata = (description: string, options?: OAuthErrorOptions) => new OAuthError('invalid_client_metadata', description, options)
export const invalidToken = (description: string) => new OAuthError('invalid_token', description)
export const invalidTarget = (description: string) => new OAuthError('invalid_target', description)
export const insufficientScope = (scope: string) =>
  new OAuthError('insufficient_scope', 'the access token lacks a required scope', { scope })
