/**
 * JWTs the server signs (ID tokens, RFC 9068 access tokens) and verifies (its own access tokens).
 *
 * Signing uses node:crypto directly: jose's `SignJWT` goes through WebCrypto, which is several
 * times slower, and this runs on the token endpoint's hot path. Verification uses jose's
 * `jwtVerify`, with an algorithm allowlist and keys resolved from the {@link KeyRing}.
 */
import type { KeyObject } from 'node:crypto'
import { errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose'
import { SIGNING_ALGS, isSigningAlg, type SigningAlg } from './algorithms.js'
import { keyMatchesAlg } from './key-generation.js'
import type { KeyRing } from './key-ring.js'
import { signOnSigningThread } from './signing-thread.js'

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}

/**
 * Signs `payload` as a JWT in JWS Compact Serialization, header `{ alg, kid, typ? }`. The signature
 * is computed on the signing thread (`signing-thread.ts`), so RS256 in particular does not hold the
 * event loop and both cores serve the token endpoint.
 *
 * @param key a key from `KeyRing.signingKey`.
 * @param typ the `typ` header, e.g. `at+jwt` for access tokens (RFC 9068 §2.1); omitted when undefined.
 * @throws TypeError when the key does not fit `alg` or is not a private key.
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-7.1 compact serialization
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3 RS256, ES256
 * @see https://www.rfc-editor.org/rfc/rfc8037#section-3.1 EdDSA
 * @example
 * ```ts
 * const jwt = await signJwt(await keyRing.signingKey('ES256', now), 'at+jwt', { iss, sub, aud, exp, iat, jti })
 * ```
 */
export async function signJwt(
  key: { kid: string; alg: SigningAlg; key: KeyObject },
  typ: string | undefined,
  payload: Record<string, unknown>,
): Promise<string> {
  if (key.key.type !== 'private' || !keyMatchesAlg(key.key, key.alg)) {
    throw new TypeError(`the signing key does not fit ${String(key.alg)}`)
  }
  const header = typ === undefined ? { alg: key.alg, kid: key.kid } : { alg: key.alg, kid: key.kid, typ }
  const signingInput = `${base64urlJson(header)}.${base64urlJson(payload)}`
  return `${signingInput}.${await signOnSigningThread(key.alg, key.key, signingInput)}`
}

/** Options of {@link verifyJwt}. */
export interface VerifyJwtOptions {
  keyRing: KeyRing
  /** Required `iss`. */
  issuer: string
  /** Required `aud` (one of the token's audiences), when given. */
  audience?: string
  /** Required `typ` header, when given; compared case-insensitively, `application/` prefix optional. */
  typ?: string
  /** Allowed `alg` values; `none` and HMAC can never be allowed. */
  algorithms: SigningAlg[]
  /** Current time, seconds since the epoch. */
  now: number
  /** Seconds of leeway for `exp`, `nbf` and `iat`; 0 unless given. */
  clockTolerance?: number
  /**
   * Accepts a token whose `exp` has passed (an `id_token_hint`, OpenID RP-Initiated Logout §2);
   * `exp` must still be there, and every other check stays. Off unless given.
   */
  acceptExpired?: boolean
}

/** Why {@link verifyJwt} refused a token: one code per kind of failure. */
export type JwtVerificationErrorCode =
  | 'JWT_EXPIRED'
  | 'JWT_SIGNATURE_INVALID'
  | 'JWT_KEY_UNKNOWN'
  | 'JWT_CLAIMS_INVALID'
  | 'JWT_MALFORMED'

/**
 * A token {@link verifyJwt} refused. The message is fixed text per `code`, never anything quoted
 * from the token; the library's own error, when there is one, is the `cause`.
 */
export class JwtVerificationError extends Error {
  override readonly name = 'JwtVerificationError'

  constructor(
    readonly code: JwtVerificationErrorCode,
    options?: ErrorOptions,
  ) {
    super(MESSAGES[code], options)
  }
}

const MESSAGES: Readonly<Record<JwtVerificationErrorCode, string>> = {
  JWT_EXPIRED: 'the JWT has expired',
  JWT_SIGNATURE_INVALID: 'the JWT signature does not verify',
  JWT_KEY_UNKNOWN: 'the JWT names no published key',
  JWT_CLAIMS_INVALID: 'a JWT claim or the typ header is not the one required',
  JWT_MALFORMED: 'the JWT is malformed or uses an algorithm not allowed',
}

/** A key ring failure (storage down, corrupt row): not the token's fault, so not a verification error. */
class KeyRingFailure {
  constructor(readonly cause: unknown) {}
}

/**
 * Verifies a JWT the server signed: signature with a published key found by `kid`, `alg` in
 * `algorithms`, `iss`, `aud` and `typ` when given, and a required, unexpired `exp`.
 *
 * @returns the claims.
 * @throws JwtVerificationError for any token failure, its code saying which. A failing key store
 *   propagates as is (it is a server error, not the token's fault).
 * @throws TypeError for bad options.
 * @see https://www.rfc-editor.org/rfc/rfc7519#section-7.2 validating a JWT
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4 validating JWT access tokens
 * @see https://www.rfc-editor.org/rfc/rfc8725#section-3.1 algorithm verification
 * @example
 * ```ts
 * const claims = await verifyJwt(token, { keyRing, issuer, typ: 'at+jwt', algorithms: ['ES256'], now })
 * ```
 */
export async function verifyJwt(token: string, options: VerifyJwtOptions): Promise<JWTPayload> {
  const { keyRing, issuer, audience, typ, algorithms, now, clockTolerance, acceptExpired } = options
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every(isSigningAlg)) {
    throw new TypeError(`algorithms must be a non-empty list of ${SIGNING_ALGS.join(', ')}`)
  }
  if (typeof issuer !== 'string' || issuer === '') throw new TypeError('issuer must be a non-empty string')
  if (audience !== undefined && (typeof audience !== 'string' || audience === '')) {
    throw new TypeError('audience must be a non-empty string when given')
  }
  if (typ !== undefined && (typeof typ !== 'string' || typ === '')) {
    throw new TypeError('typ must be a non-empty string when given')
  }
  if (typeof now !== 'number' || !Number.isFinite(now)) throw new TypeError('now must be a number of seconds')
  if (clockTolerance !== undefined && (typeof clockTolerance !== 'number' || !(clockTolerance >= 0))) {
    throw new TypeError('clockTolerance must be a non-negative number of seconds')
  }

  const verifyOptions: JWTVerifyOptions = {
    algorithms: [...algorithms],
    issuer,
    requiredClaims: ['exp'],
    currentDate: new Date(now * 1000),
    // jose always checks `exp` (and wants a finite tolerance): one no date can exceed accepts an expired token.
    clockTolerance: acceptExpired === true ? Number.MAX_SAFE_INTEGER : (clockTolerance ?? 0),
  }
  if (audience !== undefined) verifyOptions.audience = audience
  if (typ !== undefined) verifyOptions.typ = typ

  try {
    if (typeof token !== 'string') throw new TypeError('not a string')
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        if (typeof header.kid !== 'string' || header.kid === '') throw new errors.JWKSNoMatchingKey()
        let key: KeyObject | undefined
        try {
          key = await keyRing.verificationKey(header.kid, now)
        } catch (cause) {
          throw new KeyRingFailure(cause)
        }
        if (key === undefined) throw new errors.JWKSNoMatchingKey()
        return key
      },
      verifyOptions,
    )
    return payload
  } catch (err) {
    if (err instanceof KeyRingFailure) throw err.cause
    throw new JwtVerificationError(codeOf(err), { cause: err })
  }
}

function codeOf(err: unknown): JwtVerificationErrorCode {
  if (err instanceof errors.JWTExpired) return 'JWT_EXPIRED'
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'JWT_SIGNATURE_INVALID'
  if (err instanceof errors.JWKSNoMatchingKey) return 'JWT_KEY_UNKNOWN'
  if (err instanceof errors.JWTClaimValidationFailed) return 'JWT_CLAIMS_INVALID'
  return 'JWT_MALFORMED'
}
