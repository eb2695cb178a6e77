/**
 * DPoP at a resource server (RFC 9449 §7): a DPoP-bound access token (`cnf.jkt`) is accepted only
 * with a proof of its key for this very request, and never as a plain Bearer token. The proof's
 * `jti`s are remembered in memory while their `iat` would be accepted: a resource server guards
 * one process; several behind one address should each see a request once anyway.
 */
import { createHash } from 'node:crypto'
import { EmbeddedJWK, calculateJwkThumbprint, decodeProtectedHeader, errors, jwtVerify, type JWK } from 'jose'

/** RFC 9449 §11.1: how far a proof's `iat` may lie in the past, and in the future. */
const PROOF_MAX_AGE = 300
const PROOF_MAX_SKEW = 60
const MAX_REMEMBERED = 100_000
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']

/**
 * What the request says of itself, to compare with the proof's `htm` and `htu`; or, for a message
 * on a connection whose handshake already proved the key (a WebSocket), that key's thumbprint.
 */
export type DpopRequest = DpopProofRequest | { readonly boundKey: string }

export interface DpopProofRequest {
  /** The `DPoP` header value(s) of the request. */
  proof: string | readonly string[] | undefined
  /** The HTTP method (`GET` for a WebSocket upgrade). */
  method: string
  /** The URL the request was sent to (`ws:`/`wss:` count as `http:`/`https:`). */
  url: string | URL
}

/** Why a proof is refused: a fixed text, safe to show. */
export class DpopProofError extends Error {
  override readonly name = 'DpopProofError'
}

/** The URL a proof's `htu` is compared with: http(s), no query, no fragment (§4.3 item 9). */
function normalizedUrl(url: string | URL): string | undefined {
  try {
    const parsed = new URL(url)
    const protocol = parsed.protocol === 'ws:' ? 'http:' : parsed.protocol === 'wss:' ? 'https:' : parsed.protocol
    return `${protocol}//${parsed.host}${parsed.pathname}`
  } catch {
    return undefined
  }
}

/** One guard's memory of proof `jti`s (with when each may be forgotten). */
export class SeenProofs {
  readonly #seen = new Map<string, number>()

  /** True the first time `key` is seen before `forgetAt`; false for a replay. */
  remember(key: string, forgetAt: number, now: number): boolean {
    if (this.#seen.size >= MAX_REMEMBERED) {
      for (const [seenKey, until] of this.#seen) if (until <= now) this.#seen.delete(seenKey)
      // Still full of live entries: drop the oldest rather than grow without bound.
      while (this.#seen.size >= MAX_REMEMBERED) this.#seen.delete(this.#seen.keys().next().value as string)
    }
    const until = this.#seen.get(key)
    if (until !== undefined && until > now) return false
    this.#seen.set(key, forgetAt)
    return true
  }
}

/**
 * RFC 9449 §4.3: checks the request's one proof and returns its key's thumbprint (RFC 7638).
 * @throws DpopProofError for any refusal.
 */
export async function verifyProof(request: DpopProofRequest, accessToken: string, algorithms: readonly string[], now: Date, seen: SeenProofs): Promise<string> {
  const { proof } = request
  if (proof === undefined || proof === '' || (typeof proof !== 'string' && proof.length === 0)) throw new DpopProofError('the DPoP scheme needs a DPoP proof')
  if (typeof proof !== 'string' && proof.length > 1) throw new DpopProofError('more than one DPoP header')
  const jwt = typeof proof === 'string' ? proof : (proof[0] ?? '')
  const seconds = Math.floor(now.getTime() / 1000)
  let jwk: JWK
  let claims
  try {
    const header = decodeProtectedHeader(jwt)
    if (typeof header.jwk !== 'object' || header.jwk === null || PRIVATE_MEMBERS.some((m) => m in (header.jwk as object))) throw new DpopProofError('the DPoP proof has no public jwk')
    const verified = await jwtVerify(jwt, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...algorithms], requiredClaims: ['jti', 'htm', 'htu', 'iat', 'ath'], currentDate: now })
    jwk = verified.protectedHeader.jwk as JWK
    claims = verified.payload
  } catch (error) {
    if (error instanceof DpopProofError) throw error
    if (error instanceof errors.JOSEError || error instanceof TypeError) throw new DpopProofError('the DPoP proof is invalid')
    throw error
  }
  if (claims.htm !== request.method) throw new DpopProofError('the DPoP proof is for another method')
  if (typeof claims.htu !== 'string' || normalizedUrl(claims.htu) === undefined || normalizedUrl(claims.htu) !== normalizedUrl(request.url)) {
    throw new DpopProofError('the DPoP proof is for another URL')
  }
  const iat = Number(claims.iat)
  if (iat > seconds + PROOF_MAX_SKEW || iat < seconds - PROOF_MAX_AGE) throw new DpopProofError('the DPoP proof is too old or from the future')
  if (claims.ath !== createHash('sha256').update(accessToken).digest('base64url')) throw new DpopProofError('the DPoP proof is for another access token')
  if (typeof claims.jti !== 'string' || claims.jti === '' || claims.jti.length > 256) throw new DpopProofError('the DPoP proof has no usable jti')
  const jkt = await calculateJwkThumbprint(jwk, 'sha256')
  if (!seen.remember(`${jkt}\0${claims.jti}`, iat + PROOF_MAX_AGE + PROOF_MAX_SKEW, seconds)) throw new DpopProofError('the DPoP proof was used before')
  return jkt
}

/** RFC 9449 §6.1: the key an access token is bound to, if any. */
export function boundJkt(claims: Record<string, unknown>): string | undefined {
  const cnf = claims.cnf
  if (typeof cnf !== 'object' || cnf === null) return undefined
  const jkt = (cnf as { jkt?: unknown }).jkt
  return typeof jkt === 'string' ? jkt : undefined
}
