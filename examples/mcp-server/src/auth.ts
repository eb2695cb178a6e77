/**
 * How the MCP server checks the access tokens it is sent: RFC 9068 JWTs from authcode, verified
 * with the server's JWKS (jose), issued by the expected issuer, for this resource only (RFC 8707:
 * `aud` is exactly its resource URI), unexpired, as Bearer tokens in the `Authorization` header
 * (RFC 6750 §2.1), with the scopes the request needs. Refusals are RFC 6750 challenges that name
 * the resource's metadata (RFC 9728 §5.1), so an MCP host finds the authorization server by itself.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose'

/** Asymmetric algorithms only: an `HS*` or `none` token is never accepted. */
const ALGORITHMS = ['ES256', 'RS256', 'EdDSA', 'ES384', 'ES512', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']

export interface TokenCheckOptions {
  /** The authorization server's issuer: `iss` must equal it. */
  issuer: string
  /** This server's resource URI: `aud` must be exactly it. */
  resource: string
  /** The authorization server's JWKS; default `${issuer}/jwks`. */
  jwksUri?: string
  /** Where this server's RFC 9728 metadata is, for the challenges. */
  resourceMetadataUrl: string
  /** The current time (tests pass the server's clock). */
  now?: () => Date
}

/** A token that passed: who it is for and what it may do. */
export interface VerifiedToken {
  token: string
  subject: string
  clientId: string
  scopes: string[]
  expiresAt: number
}

/** A refusal, ready to send: the status and the `WWW-Authenticate` value. */
export interface Refusal {
  status: 400 | 401 | 403
  wwwAuthenticate: string
  body: { error: string; error_description: string } | undefined
}

export type TokenCheck = { ok: true; token: VerifiedToken } | { ok: false; refusal: Refusal }

// RFC 6750 §3: error_description and scope use %x20-21 / %x23-5B / %x5D-7E.
const quoted = (value: string) => `"${value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '')}"`

/** Makes the checker of one resource; the JWKS is fetched on first use and cached by jose. */
export function tokenChecker(options: TokenCheckOptions): (authorization: string | undefined, required: readonly string[]) => Promise<TokenCheck> {
  const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(options.jwksUri ?? `${options.issuer}/jwks`))
  const now = options.now ?? (() => new Date())

  function refuse(status: Refusal['status'], error: string | undefined, description: string, scope?: string): TokenCheck {
    const params = [`resource_metadata=${quoted(options.resourceMetadataUrl)}`]
    if (error !== undefined) params.push(`error="${error}"`, `error_description=${quoted(description)}`)
    if (scope !== undefined) params.push(`scope=${quoted(scope)}`)
    return { ok: false, refusal: { status, wwwAuthenticate: `Bearer ${params.join(', ')}`, body: error === undefined ? undefined : { error, error_description: description } } }
  }

  return async (authorization, required) => {
    // RFC 6750 §3.1: no credentials, no error code.
    if (authorization === undefined || authorization === '') return refuse(401, undefined, 'an access token is required')
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization)
    if (match?.[1] === undefined) return refuse(400, 'invalid_request', 'expected Authorization: Bearer <token>')
    let payload
    try {
      ;({ payload } = await jwtVerify(match[1], jwks, {
        issuer: options.issuer,
        audience: options.resource,
        typ: 'at+jwt',
        algorithms: ALGORITHMS,
        currentDate: now(),
        clockTolerance: 5,
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
      }))
    } catch (error) {
      if (error instanceof errors.JWTExpired) return refuse(401, 'invalid_token', 'the access token has expired')
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud') return refuse(401, 'invalid_token', 'the access token is not meant for this MCP server')
      if (error instanceof errors.JOSEError) return refuse(401, 'invalid_token', 'the access token is invalid')
      throw error
    }
    // RFC 8707: a token for this resource names it alone; one for several audiences is not ours.
    if (Array.isArray(payload.aud) && payload.aud.length !== 1) {
      return refuse(401, 'invalid_token', 'the access token is not meant for this MCP server')
    }
    // RFC 9449: a DPoP-bound token is not a Bearer token (this example takes Bearer tokens only).
    if (typeof payload.cnf === 'object' && payload.cnf !== null) return refuse(401, 'invalid_token', 'DPoP-bound tokens are not accepted here')
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter((s) => s !== '') : []
    const missing = required.filter((scope) => !scopes.includes(scope))
    // RFC 6750 §3.1: insufficient_scope names every scope the request needs (MCP step-up authorization).
    if (missing.length > 0) return refuse(403, 'insufficient_scope', `this request needs the scope ${required.join(' ')}`, [...new Set([...scopes, ...required])].join(' '))
    return {
      ok: true,
      token: { token: match[1], subject: String(payload.sub), clientId: typeof payload.client_id === 'string' ? payload.client_id : '', scopes, expiresAt: payload.exp ?? 0 },
    }
  }
}
