/**
 * Validation of our own access tokens where the server itself is the resource (`/userinfo`) or is
 * asked about them (`/introspect`, `/revoke`): the JWT checks of RFC 9068 §4, then the token's
 * record in the store, so a revoked token (or grant) stops working before it expires.
 */
import { SIGNING_ALGS, type SigningAlg } from '../tokens/algorithms.js'
import type { KeyRing } from '../tokens/key-ring.js'
import { JwtVerificationError, verifyJwt, type JwtVerificationErrorCode } from '../tokens/jws.js'
import { invalidToken } from './errors.js'
import { accessTokenAudiences, type ResourceIndicatorSettings } from './resources.js'
import type { AccessTokenRecord, GrantStore } from './store.js'

/** Access tokens signed with any of the server's algorithms verify (one signed before `accessToken.alg` changed too). */
export const ACCESS_TOKEN_ALGORITHMS: readonly SigningAlg[] = SIGNING_ALGS

/** The settings access-token validation reads (`ServerConfig` has them). */
export interface AccessTokenSettings extends ResourceIndicatorSettings {
  /** The `iss` every access token carries. */
  readonly issuer: string
  /** The `aud` of access tokens not for one of the `resources` (RFC 8707). */
  readonly accessToken: { readonly audience: string }
}

export interface AccessTokenDeps {
  store: GrantStore
  keys: KeyRing
  config: AccessTokenSettings
}

/** The `invalid_token` description of each way a JWT fails: fixed text, nothing from the token. */
const REFUSED: Readonly<Record<JwtVerificationErrorCode, string>> = {
  JWT_EXPIRED: 'the token has expired',
  JWT_SIGNATURE_INVALID: 'the token signature is invalid',
  JWT_KEY_UNKNOWN: 'the token was not signed by a current key',
  JWT_CLAIMS_INVALID: 'the token claims are not acceptable',
  JWT_MALFORMED: 'the token is malformed or uses a disallowed algorithm',
}

export interface ValidAccessToken {
  record: AccessTokenRecord
  /** Claims of the verified JWT. */
  claims: Record<string, unknown>
}

/** RFC 9449 §6.1: the thumbprint of the DPoP key an access token is bound to (`cnf.jkt`), if any. */
export function boundJkt(claims: Record<string, unknown>): string | undefined {
  const cnf = claims.cnf
  if (typeof cnf !== 'object' || cnf === null) return undefined
  const jkt = (cnf as { jkt?: unknown }).jkt
  return typeof jkt === 'string' ? jkt : undefined
}

/**
 * RFC 9449 §7.1: a DPoP-bound token is accepted only with a proof of its key (never as a plain
 * Bearer token), and the DPoP scheme only with a token bound to the proof's key.
 * @param presentedJkt the key of the request's DPoP proof; undefined for the Bearer scheme.
 */
export function checkTokenBinding(claims: Record<string, unknown>, presentedJkt: string | undefined): void {
  const bound = boundJkt(claims)
  if (bound === undefined && presentedJkt === undefined) return
  if (bound === undefined) throw invalidToken('the access token is not DPoP-bound: present it as a Bearer token')
  if (presentedJkt === undefined) throw invalidToken('the access token is DPoP-bound: present it with a DPoP proof')
  if (bound !== presentedJkt) throw invalidToken('the DPoP proof key is not the key the access token is bound to')
}

/** True when a string has the shape of a compact JWS, so it is worth verifying. */
export const looksLikeJwt = (token: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)

/**
 * @param audience whose tokens are accepted: `'server'` (the default audience only, where the
 *   server itself is the resource: `/userinfo`), or `'any'` (a resource's too, RFC 8707: where the
 *   server is asked about its tokens, `/introspect` and `/revoke`)
 * @throws OAuthError `invalid_token` for anything but a live access token of this server
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4
 */
export async function validateAccessToken(token: string, deps: AccessTokenDeps, now: number, audience: 'server' | 'any' = 'server'): Promise<ValidAccessToken> {
  if (!looksLikeJwt(token)) throw invalidToken('the access token is malformed')
  let claims
  try {
    claims = await verifyJwt(token, {
      keyRing: deps.keys,
      issuer: deps.config.issuer,
      ...(audience === 'server' ? { audience: deps.config.accessToken.audience } : {}),
      typ: 'at+jwt',
      algorithms: [...ACCESS_TOKEN_ALGORITHMS],
      now,
    })
  } catch (error) {
    // A failing key store is not the token's fault: it goes on as a server error.
    if (error instanceof JwtVerificationError) throw invalidToken(REFUSED[error.code])
    throw error
  }
  // RFC 8707: the server issues one audience per token, a string, always one it knows.
  if (typeof claims.aud !== 'string' || !accessTokenAudiences(deps.config.accessToken.audience, deps.config).includes(claims.aud)) {
    throw invalidToken(REFUSED.JWT_CLAIMS_INVALID)
  }
  // One read: revoking a grant stamps revokedAt on its access tokens (GrantStore.revokeGrant), and
  // no token is issued under a revoked grant, so the record alone says whether the token is live.
  const record = typeof claims.jti === 'string' ? await deps.store.getAccessToken(claims.jti) : undefined
  if (record === undefined || record.revokedAt !== null || record.expiresAt <= now) {
    throw invalidToken('the access token is not active')
  }
  return { record, claims: claims as Record<string, unknown> }
}
