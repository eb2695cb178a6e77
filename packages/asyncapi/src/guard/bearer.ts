/**
 * RFC 6750 for the guard: reading the `Authorization: Bearer` header (§2.1) and the errors a
 * resource server answers with (§3, §3.1), as values.
 */

/**
 * The RFC 6750 §3.1 error codes, and `temporarily_unavailable` (the name RFC 6749 §4.1.2.1 gives
 * it) when the guard cannot check tokens right now because the authorization server's JWKS cannot
 * be fetched: a server-side problem, answered 503, never the token's fault.
 */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable' | 'invalid_dpop_proof'

/**
 * A refused request, ready to be sent: over HTTP as `status` with the `WWW-Authenticate` header
 * (and `Retry-After` when `retryAfter` is set), over a WebSocket as a close reason. `error` is
 * absent when the request carried no credentials at all (RFC 6750 §3.1: "SHOULD NOT include an
 * error code").
 */
export interface BearerError {
  readonly status: 400 | 401 | 403 | 503
  readonly error: BearerErrorCode | undefined
  /** Safe to show: fixed texts, never the token or its claims. */
  readonly description: string
  /** `insufficient_scope`: the scopes the operation needs (space-separated). */
  readonly scope: string | undefined
  /**
   * The `WWW-Authenticate` header value. For `temporarily_unavailable` a bare challenge (`Bearer`,
   * with the realm): RFC 6750 registers no error code for it.
   */
  readonly wwwAuthenticate: string
  /** `temporarily_unavailable`: seconds until the guard tries the JWKS again (`Retry-After`). */
  readonly retryAfter: number | undefined
}

/** RFC 6750 §2.1 `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/** An authorization scheme the guard reads: RFC 6750 `Bearer`, or RFC 9449 §7.1 `DPoP` (a bound token with a proof). */
export type AuthorizationScheme = 'Bearer' | 'DPoP'

export type ParsedAuthorization = { kind: 'token'; token: string; scheme: AuthorizationScheme } | { kind: 'none' } | { kind: 'malformed'; description: string }

/** Reads an `Authorization` header value (RFC 6750 §2.1, RFC 9449 §7.1). Only the header: a token in a query is never looked at. */
export function parseAuthorization(header: string | readonly string[] | undefined): ParsedAuthorization {
  if (header === undefined || header === '') return { kind: 'none' }
  if (typeof header !== 'string') {
    if (header.length === 0) return { kind: 'none' }
    if (header.length > 1) return { kind: 'malformed', description: 'the Authorization header is sent more than once' }
    return parseAuthorization(header[0])
  }
  const match = /^([A-Za-z]+) +(\S+)$/.exec(header)
  const scheme = match?.[1]?.toLowerCase()
  if (match === null || (scheme !== 'bearer' && scheme !== 'dpop')) return { kind: 'malformed', description: 'expected Authorization: Bearer <token> or DPoP <token>' }
  const token = match[2] ?? ''
  if (!B64TOKEN.test(token)) return { kind: 'malformed', description: 'the access token has characters outside the b64token syntax' }
  return { kind: 'token', token, scheme: scheme === 'dpop' ? 'DPoP' : 'Bearer' }
}

function quoted(value: string): string {
  // error_description and scope use %x20-21 / %x23-5B / %x5D-7E (RFC 6750 §3): no quote, no backslash.
  return `"${value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '')}"`
}

const STATUS = { invalid_request: 400, invalid_token: 401, insufficient_scope: 403, temporarily_unavailable: 503, invalid_dpop_proof: 401 } as const

/** Builds a {@link BearerError} with its `WWW-Authenticate` value. */
export function bearerError(
  error: BearerErrorCode | undefined,
  description: string,
  options: {
    realm?: string
    scope?: string
    retryAfter?: number
    /** RFC 9449 §7.1: the DPoP challenge, with the proof algorithms. */
    dpopAlgs?: readonly string[]
    /** RFC 9728 §5.1: the URL of the resource's metadata. */
    resourceMetadata?: string
  } = {},
): BearerError {
  const params: string[] = []
  if (options.dpopAlgs !== undefined) params.push(`algs="${options.dpopAlgs.join(' ')}"`)
  if (options.realm !== undefined) params.push(`realm=${quoted(options.realm)}`)
  if (options.resourceMetadata !== undefined) params.push(`resource_metadata=${quoted(options.resourceMetadata)}`)
  if (error !== undefined && error !== 'temporarily_unavailable') {
    params.push(`error="${error}"`, `error_description=${quoted(description)}`)
    if (options.scope !== undefined) params.push(`scope=${quoted(options.scope)}`)
  }
  return {
    status: error === undefined ? 401 : STATUS[error],
    error,
    description,
    scope: options.scope,
    wwwAuthenticate: options.dpopAlgs !== undefined ? `DPoP ${params.join(', ')}` : params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`,
    retryAfter: options.retryAfter,
  }
}
