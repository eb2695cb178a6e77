/**
 * DPoP (RFC 9449): a client proves, with each request, possession of the key its tokens are bound
 * to. The proof is a JWT signed by that key, which it carries in its header; the binding is the key's
 * JWK SHA-256 thumbprint (RFC 7638), `cnf.jkt` in the access token. Every proof works once on every
 * instance (its `jti` in the store while its `iat` is acceptable).
 */
import { createHmac } from 'node:crypto'
import { EmbeddedJWK, calculateJwkThumbprint, decodeProtectedHeader, errors, jwtVerify, type JWK, type JWTPayload } from 'jose'
import { OAuthError } from './errors.js'
import type { ReplayStore } from './store.js'
import { holdsPrivateKey } from './client-assertion.js'
import { hashToken, safeEqual } from '../tokens/secrets.js'

/** `dpop_signing_alg_values_supported`: asymmetric only (RFC 9449 §4.2: no `none`, no MAC); Ed25519 under both its names (RFC 8037 EdDSA, RFC 9864 Ed25519). */
export const DPOP_ALGS = Object.freeze(['ES256', 'EdDSA', 'Ed25519', 'RS256', 'PS256'] as const)

/** RFC 9449 §11.1: how far a proof's `iat` may lie in the past… */
export const PROOF_MAX_AGE = 300
/** …or in the future (clock skew). */
const PROOF_MAX_SKEW = 60
/** Server nonces (§8) change every window; one is accepted in its window and the next. */
const NONCE_WINDOW = 300
const JKT = /^[A-Za-z0-9_-]{43}$/

export const invalidDpopProof = (description: string, cause?: unknown) =>
  new OAuthError('invalid_dpop_proof', description, cause === undefined ? {} : { cause })

/** RFC 9449 §10: `dpop_jkt` at the authorization (or PAR) endpoint, a SHA-256 JWK thumbprint. */
export function readDpopJkt(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!JKT.test(value)) throw new OAuthError('invalid_request', 'dpop_jkt is not a JWK SHA-256 thumbprint')
  return value
}

/**
 * Server-provided nonces (RFC 9449 §8), stateless so that every instance accepts every instance's:
 * the time window and a MAC over it under a key all instances derive alike.
 */
export class DpopNonces {
  readonly #key: Buffer

  constructor(key: Buffer) {
    this.#key = key
  }

  #nonceOf(window: number): string {
    const mac = createHmac('sha256', this.#key).update(`dpop-nonce\0${window}`).digest().subarray(0, 16)
    return `${window.toString(36)}.${mac.toString('base64url')}`
  }

  /** The nonce to hand out now (`DPoP-Nonce`). */
  current(now: number): string {
    return this.#nonceOf(Math.floor(now / NONCE_WINDOW))
  }

  /** A nonce of this window or the one before. */
  accepts(nonce: string, now: number): boolean {
    const window = Math.floor(now / NONCE_WINDOW)
    return [window, window - 1].some((w) => safeEqual(nonce, this.#nonceOf(w)))
  }
}

export interface DpopCheck {
  /** RFC 9449 §4.3 items 8 and 9: the request's method and URL (without query and fragment). */
  htm: string
  htu: string
  now: number
  replay: ReplayStore
  nonces: DpopNonces
  /** Refuse a proof without a valid server nonce (`use_dpop_nonce`). */
  requireNonce: boolean
  /** At a resource: the access token presented with the proof (`ath`, §4.3 item 12). */
  accessToken?: string
}

/** A proof that passed: the thumbprint of its key. */
export interface DpopProof {
  jkt: string
}

/** The request's one `DPoP` header, if any; two are refused (§4.3 item 1). */
export function dpopHeader(headers: Record<string, string | string[] | undefined>): string | undefined {
  const value = headers.dpop
  if (Array.isArray(value)) throw invalidDpopProof('more than one DPoP header')
  if (value === undefined || value === '') return undefined
  return value
}

/** The URL a proof's `htu` is compared with: no query, no fragment (§4.3 item 9). */
function withoutQuery(url: string): string | undefined {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`
  } catch {
    return undefined
  }
}

/**
 * Checks a DPoP proof as RFC 9449 §4.3 lists it: a JWT with `typ: dpop+jwt`, an allowed
 * asymmetric `alg`, a public `jwk` header whose key verifies the signature, `jti`, `htm`, `htu`,
 * `iat` within the window, the server's nonce when required, `ath` at a resource, and a `jti` never
 * seen before.
 * @throws OAuthError `invalid_dpop_proof`, or `use_dpop_nonce` when a fresh nonce would do.
 */
export async function verifyDpopProof(proof: string, check: DpopCheck): Promise<DpopProof> {
  let jwk: JWK
  let claims: JWTPayload
  try {
    const header = decodeProtectedHeader(proof)
    if (typeof header.jwk !== 'object' || header.jwk === null) throw invalidDpopProof('the DPoP proof has no jwk header')
    if (holdsPrivateKey(header.jwk)) throw invalidDpopProof('the DPoP proof jwk holds a private key')
    const verified = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: [...DPOP_ALGS],
      requiredClaims: ['jti', 'htm', 'htu', 'iat'],
      currentDate: new Date(check.now * 1000),
    })
    jwk = verified.protectedHeader.jwk as JWK
    claims = verified.payload
  } catch (error) {
    if (error instanceof OAuthError) throw error
    if (error instanceof errors.JOSEError || error instanceof TypeError) throw invalidDpopProof('the DPoP proof is invalid', error)
    throw error
  }
  if (claims.htm !== check.htm) throw invalidDpopProof('the DPoP proof htm does not match the request method')
  if (typeof claims.htu !== 'string' || withoutQuery(claims.htu) !== withoutQuery(check.htu)) throw invalidDpopProof('the DPoP proof htu does not match the request URL')
  const iat = Number(claims.iat)
  if (iat > check.now + PROOF_MAX_SKEW || iat < check.now - PROOF_MAX_AGE) throw invalidDpopProof('the DPoP proof iat is outside the acceptable window')
  if (typeof claims.jti !== 'string' || claims.jti === '' || claims.jti.length > 256) throw invalidDpopProof('the DPoP proof jti is invalid')
  if (check.requireNonce || claims.nonce !== undefined) {
    if (typeof claims.nonce !== 'string' || !check.nonces.accepts(claims.nonce, check.now)) {
      throw new OAuthError('use_dpop_nonce', 'use the DPoP nonce the server provided')
    }
  }
  if (check.accessToken !== undefined && claims.ath !== hashToken(check.accessToken)) throw invalidDpopProof('the DPoP proof ath does not match the access token')
  const jkt = await calculateJwkThumbprint(jwk, 'sha256')
  // §11.1: the jti once, on every instance, while the proof's iat would be accepted.
  if (!(await check.replay.useOnce(hashToken(`dpop\0${jkt}\0${claims.jti}`), iat + PROOF_MAX_AGE + PROOF_MAX_SKEW))) {
    throw invalidDpopProof('the DPoP proof was used before')
  }
  return { jkt }
}
